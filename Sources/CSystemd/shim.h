//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//
// libsystemd as seen from Swift (Debian: libsystemd-dev). Variadic functions (sd_notifyf, sd_journal_send,
// sd_bus_call_method, ...) are not callable from Swift: use the iovec / _basic forms or add a static inline
// wrapper here.

#ifndef VIWORKS_CSYSTEMD_SHIM_H
#define VIWORKS_CSYSTEMD_SHIM_H

// The plain sd_journal_sendv is a macro adding the C caller's location; Swift calls
// sd_journal_sendv_with_location directly with its own file, line and function.
#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-bus.h>

// glibc's malloc_trim (not in Swift's Glibc module), for the start-up memory release.
#include <malloc.h>

// statfs (sys/vfs.h is not in Swift's Glibc module), for the configuration's check of where the state directory lies.
#include <sys/vfs.h>

// The type (f_type, e.g. PROC_SUPER_MAGIC) of the file system `path` lies on; 0 when statfs fails.
static inline unsigned long viworks_fs_type(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 ? (unsigned long)info.f_type : 0;
}

#endif

// The C floor of a /proc process scan: list /proc, then openat + read + close of every PID's stat, as the agent does.
// Prints the CPU time per process. Usage: stat_floor ROUNDS
#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
int main(int argc, char **argv) {
  int rounds = atoi(argv[1]);
  char buf[1024], path[64]; long n = 0;
  int proc = open("/proc", O_RDONLY|O_DIRECTORY);
  struct rusage a, b; getrusage(RUSAGE_SELF, &a);
  for (int r = 0; r < rounds; r++) {
    DIR *d = opendir("/proc"); struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      snprintf(path, sizeof path, "%s/stat", e->d_name);
      int fd = openat(proc, path, O_RDONLY|O_CLOEXEC); if (fd < 0) continue;
      ssize_t k = read(fd, buf, sizeof buf); close(fd); if (k > 0) n++;
    }
    closedir(d);
  }
  getrusage(RUSAGE_SELF, &b);
  double us = (b.ru_utime.tv_sec - a.ru_utime.tv_sec + b.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1e6 + (b.ru_utime.tv_usec - a.ru_utime.tv_usec + b.ru_stime.tv_usec - a.ru_stime.tv_usec);
  printf("%ld stat reads, %.2f us CPU per process\n", n, us / n);
}

//
// This source file is part of the ViWorks OS Agent project.
// SPDX-License-Identifier: Apache-2.0
//

import AgentRuntime
import Testing

struct StartupMemoryReleaseTests {
    @Test func findsOnlyTheExecutablesCodeMappings() {
        // Captured from `cat /proc/PID/maps` of a running agent (trimmed).
        let maps = """
            5558ee17f000-5558f0175000 r-xp 00000000 fe:00 5392077                    /usr/local/bin/viworks-agent
            5558f0176000-5558f0255000 r--p 01ff6000 fe:00 5392077                    /usr/local/bin/viworks-agent
            5558f0255000-5558f26d3000 rw-p 020d5000 fe:00 5392077                    /usr/local/bin/viworks-agent
            5558f26d3000-5558f27df000 rw-p 00000000 00:00 0 
            7f011a644000-7f011a79a000 r-xp 00026000 fe:00 333151                     /usr/lib/x86_64-linux-gnu/libc.so.6
            7f011b000000-7f011b001000 r-xp 00000000 fe:00 777                        /opt/my agent/viworks-agent
            """
        #expect(
            StartupMemoryRelease.executableCodeRanges(maps: maps, executable: "/usr/local/bin/viworks-agent")
                == [0x5558_ee17_f000..<0x5558_f017_5000])
        // A path with a space (the kernel prints it as is after the inode).
        #expect(StartupMemoryRelease.executableCodeRanges(maps: maps, executable: "/opt/my agent/viworks-agent") == [0x7f01_1b00_0000..<0x7f01_1b00_1000])
        #expect(StartupMemoryRelease.executableCodeRanges(maps: maps, executable: "/nope").isEmpty)
    }

    @Test func releasingTheTestBinarysOwnCodeIsHarmless() {
        // The running test binary's code is paged out and faults back in as the test goes on.
        let advised = StartupMemoryRelease.releaseExecutableCode()
        #expect(advised > 0)
        #expect(Timestamp(nanosecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000000000+00:00")
    }
}

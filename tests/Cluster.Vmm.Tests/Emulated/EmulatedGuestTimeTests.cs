using System.Diagnostics;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Emulated;

/// <summary>Guest time, the load the cluster balances: a halted emulated vCPU waits off the clock.</summary>
public class EmulatedGuestTimeTests
{
    [Fact]
    public void A_guest_that_halts_between_timer_interrupts_reads_mostly_idle()
    {
        using var session = new GuestRunner.Session("timer", ["1000"]);
        var wall = Stopwatch.StartNew();
        Assert.Equal(MachineExitKind.GuestExit, session.RunToExit().Kind);
        var guest = session.Machine.Vcpus.Aggregate(TimeSpan.Zero, (sum, v) => sum + v.Vcpu.GuestTime);
        Assert.True(guest < wall.Elapsed / 2,
            $"the timer guest ran {wall.Elapsed.TotalMilliseconds:0} ms, halted nearly all of it, yet read {guest.TotalMilliseconds:0} ms of guest time");
    }
}

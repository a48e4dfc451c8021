using Cluster.Vmm.Devices;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Tests.TestUtils;
using Xunit;

namespace Cluster.Vmm.Tests.Machine;

public class VcpuThreadTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private sealed class ProbeDevice : IPortDevice
    {
        public List<(ushort Offset, ulong? Value, string? Thread, bool Pool)> Log { get; } = [];
        public ulong Read(ushort offset, int size) { Record(offset, null); return 0x42; }
        public void Write(ushort offset, int size, ulong value) => Record(offset, value);
        private void Record(ushort offset, ulong? value)
        {
            lock (Log) Log.Add((offset, value, Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));
        }
    }

    private sealed class ThrowingDevice : IPortDevice
    {
        public ulong Read(ushort offset, int size) => throw new InvalidOperationException("device exploded");
        public void Write(ushort offset, int size, ulong value) { }
    }

    private static (VcpuThread Thread, FakeVcpu Vcpu, ProbeDevice Probe) Make(int id = 0)
    {
        var bus = new IoBus();
        var probe = new ProbeDevice();
        bus.RegisterPorts(0x100, 4, probe);
        var vcpu = new FakeVcpu(id);
        return (new VcpuThread(vcpu, bus), vcpu, probe);
    }

    [Fact]
    public void Dispatches_io_exits_to_the_bus_on_its_own_named_thread_and_completes_reads()
    {
        var (thread, vcpu, probe) = Make(3);
        vcpu.Enqueue(VcpuExit.IoIn(0x102, 1), VcpuExit.IoOut(0x101, 1, 0x99), VcpuExit.MmioRead(0xd000_0000, 4), VcpuExit.Hlt);
        // Finished is raised on the vCPU's thread after the state turns Finished (which is what Join waits for).
        MachineExit? seen = null;
        using var finished = new ManualResetEventSlim();
        thread.Finished += (_, e) =>
        {
            seen = e;
            finished.Set();
        };

        Assert.True(thread.Start().Done);
        Assert.True(thread.Join(Timeout));

        Assert.Equal([(2, (ulong?)null, "vcpu-3", false), (1, 0x99UL, "vcpu-3", false)], probe.Log);
        Assert.Equal([0x42UL, 0xffff_ffffUL], vcpu.CompletedReads);
        Assert.True(finished.Wait(Timeout), "no Finished event");
        Assert.Equal(MachineExitKind.Halted, seen!.Kind);
        Assert.Equal(3, seen.VcpuId);
        Assert.Equal(VcpuRunState.Finished, thread.State);
    }

    [Fact]
    public void Pause_returns_only_once_the_vcpu_is_out_of_run_and_resume_lets_it_run_again()
    {
        var (thread, vcpu, _) = Make();
        thread.Start();
        Assert.True(vcpu.Idle.Wait(Timeout));

        Assert.True(thread.Pause().Done);
        Assert.Equal(VcpuRunState.Paused, thread.State);
        Assert.False(vcpu.InRun);
        int runs = vcpu.RunCalls;
        Thread.Sleep(20);
        Assert.Equal(runs, vcpu.RunCalls);

        Assert.True(thread.Resume().Done);
        Assert.True(SpinWait.SpinUntil(() => vcpu.RunCalls > runs && vcpu.InRun, Timeout));
        Assert.True(thread.Stop().Done);
        Assert.Equal(MachineExitKind.Stopped, thread.Exit!.Kind);
        Assert.False(vcpu.InRun);
    }

    [Fact]
    public void Stop_ends_a_paused_vcpu()
    {
        var (thread, vcpu, _) = Make();
        thread.Start();
        Assert.True(vcpu.Idle.Wait(Timeout));
        thread.Pause();
        Assert.True(thread.Stop().Done);
        Assert.Equal(VcpuRunState.Finished, thread.State);
        Assert.Equal(MachineExitKind.Stopped, thread.Exit!.Kind);
    }

    [Fact]
    public void Requests_invalid_in_the_current_state_are_not_allowed_with_a_reason()
    {
        var (thread, vcpu, _) = Make();
        var pause = thread.Pause();
        Assert.False(pause.Done);
        Assert.Contains("Created", pause.Reason);
        Assert.False(thread.Resume().Done);

        thread.Start();
        Assert.False(thread.Start().Done);
        Assert.True(vcpu.Idle.Wait(Timeout));
        Assert.False(thread.Resume().Done);
        thread.Stop();

        var again = thread.Stop();
        Assert.False(again.Done);
        Assert.Contains("finished", again.Reason);
        Assert.False(thread.Pause().Done);
        Assert.False(thread.Resume().Done);
    }

    [Fact]
    public void Stop_before_start_finishes_at_once()
    {
        var (thread, _, _) = Make();
        var finished = 0;
        thread.Finished += (_, _) => finished++;
        Assert.True(thread.Stop().Done);
        Assert.Equal(VcpuRunState.Finished, thread.State);
        Assert.Equal(1, finished);
        Assert.False(thread.Start().Done);
    }

    [Fact]
    public void A_prepared_vcpu_waits_without_running_until_start_then_runs_on_its_thread()
    {
        var (thread, vcpu, probe) = Make(2);
        vcpu.Enqueue(VcpuExit.IoOut(0x101, 1, 0x7), VcpuExit.Hlt);
        thread.Prepare();
        thread.Prepare(); // a second call does nothing
        Thread.Sleep(50);
        Assert.Equal(0, vcpu.RunCalls);
        Assert.Equal(VcpuRunState.Created, thread.State);
        Assert.False(thread.Pause().Done);

        Assert.True(thread.Start().Done);
        Assert.True(thread.Join(Timeout));
        Assert.Equal([(1, (ulong?)0x7UL, "vcpu-2", false)], probe.Log);
        Assert.Equal(MachineExitKind.Halted, thread.Exit!.Kind);
    }

    [Fact]
    public void Stop_ends_a_prepared_vcpu_that_never_ran_and_reports_it_once()
    {
        var (thread, vcpu, _) = Make();
        var finished = 0;
        thread.Finished += (_, _) => Interlocked.Increment(ref finished);
        thread.Prepare();
        Assert.True(thread.Stop().Done);
        Assert.True(thread.Join(Timeout));
        Thread.Sleep(50); // the waiting thread wakes and leaves without reporting again
        Assert.Equal(1, finished);
        Assert.Equal(0, vcpu.RunCalls);
        Assert.Equal(MachineExitKind.Stopped, thread.Exit!.Kind);
        Assert.False(thread.Start().Done);
    }

    [Theory]
    [InlineData(VcpuExitKind.Shutdown, MachineExitKind.Shutdown)]
    [InlineData(VcpuExitKind.InternalError, MachineExitKind.InternalError)]
    [InlineData(VcpuExitKind.Unsupported, MachineExitKind.InternalError)]
    public void Fatal_exits_end_the_vcpu_with_their_kind(VcpuExitKind exitKind, MachineExitKind expected)
    {
        var (thread, vcpu, _) = Make();
        vcpu.Enqueue(exitKind switch
        {
            VcpuExitKind.Shutdown => VcpuExit.Shutdown("triple fault"),
            VcpuExitKind.InternalError => VcpuExit.InternalError("unsupported instruction", 0x100123, [0x0f, 0x0b]),
            _ => VcpuExit.Unsupported(77),
        });
        thread.Start();
        Assert.True(thread.Join(Timeout));
        Assert.Equal(expected, thread.Exit!.Kind);
        if (exitKind == VcpuExitKind.InternalError)
        {
            Assert.Contains("0x100123", thread.Exit.Reason);
            Assert.Contains("0F0B", thread.Exit.Reason);
        }
    }

    [Fact]
    public void A_failing_device_ends_the_vcpu_with_an_internal_error_instead_of_crashing()
    {
        var bus = new IoBus();
        bus.RegisterPorts(0x10, 1, new ThrowingDevice());
        var vcpu = new FakeVcpu(0);
        var thread = new VcpuThread(vcpu, bus);
        vcpu.Enqueue(VcpuExit.IoIn(0x10, 1));
        thread.Start();
        Assert.True(thread.Join(Timeout));
        Assert.Equal(MachineExitKind.InternalError, thread.Exit!.Kind);
        Assert.Contains("device exploded", thread.Exit.Reason);
    }
}

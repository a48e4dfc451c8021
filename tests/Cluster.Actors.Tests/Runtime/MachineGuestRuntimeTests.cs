using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Runtime;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Actors.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;

namespace Cluster.Actors.Tests.Runtime;

/// <summary>The actors over the real VMM (the emulated backend) with the built-in test guests.</summary>
public sealed class MachineGuestRuntimeTests : TestKit
{
    private readonly EmulatedHypervisor _hypervisor = new();
    private readonly IActorRef _manager;

    public MachineGuestRuntimeTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
        _manager = Managers.Start(Sys, new MachineGuestRuntimeFactory(_hypervisor));
    }

    private T Ask<T>(object message) => _manager.Ask<T>(message, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

    private VmInfo Info(string id) => Ask<VmInfo>(new GetVm(id));

    private static VmSpec Spec(string id, string image, RestartPolicy restart, params string[] args) =>
        Specs.Of(id, image, restart) with { Args = args };

    [Fact]
    public void The_triple_guest_crashes_the_vm_with_a_shutdown_reason()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec("t", "triple", RestartPolicy.Never)));
        Ask<VmCommandAccepted>(new StartVm("t"));
        AwaitAssert(() => Assert.Equal(VmStatus.Crashed, Info("t").Status), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        Assert.Contains("shutdown", Info("t").Reason);
    }

    [Fact]
    public void The_restart_policy_boots_the_triple_guest_again_until_its_limit()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec("t", "triple", new RestartPolicy(RestartMode.OnFailure, 1))));
        Ask<VmCommandAccepted>(new StartVm("t"));
        AwaitAssert(() => Assert.Equal(VmStatus.Crashed, Info("t").Status), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        var events = Ask<VmEventList>(new GetVmEvents("t")).Events;
        Assert.Equal([typeof(VmDefined), typeof(VmOwnerClaimed), typeof(VmStarted), typeof(VmCrashed), typeof(VmRestarted), typeof(VmCrashed)],
            events.Select(e => e.GetType()));
        Assert.Equal(1, Info("t").Restarts);
    }

    [Fact]
    public void The_hello_guest_greets_on_the_console_and_its_clean_exit_stops_the_vm()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec("h", "hello", RestartPolicy.Never, "one")));
        var subscriber = CreateTestProbe();
        _manager.Tell(new ConsoleAttach("h"), subscriber.Ref);
        Assert.Empty(subscriber.ExpectMsg<ConsoleOutput>().Data);
        Ask<VmCommandAccepted>(new StartVm("h"));
        var text = new StringBuilder();
        subscriber.FishForMessage<ConsoleOutput>(o => text.Append(Encoding.ASCII.GetString(o.Data)).ToString().Contains("argv[0]=one\n"),
            TimeSpan.FromSeconds(20));
        Assert.StartsWith("Hello from the guest!\n", text.ToString());
        AwaitAssert(() => Assert.Equal(VmStatus.Stopped, Info("h").Status), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        Assert.Contains("status 0", Info("h").Reason);
    }

    [Fact]
    public void Pauses_resumes_and_stops_a_running_counter_guest()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec("c", "counter", RestartPolicy.Never)));
        Ask<VmCommandAccepted>(new StartVm("c"));
        AwaitAssert(() => Assert.NotEmpty(Ask<ConsoleOutput>(new ConsoleTail("c", 16)).Data), TimeSpan.FromSeconds(20));
        Ask<VmCommandAccepted>(new PauseVm("c"));
        Assert.Equal(VmStatus.Running, Ask<VmCommandAccepted>(new ResumeVm("c")).Status);
        Assert.Equal(VmStatus.Stopped, Ask<VmCommandAccepted>(new StopVm("c", StopMode.Graceful)).Status);
        Assert.Equal(VmStatus.Stopped, Info("c").Status);
    }

    [Fact]
    public async Task The_vcpu_supervisor_saves_the_state_of_a_paused_guest_only()
    {
        Ask<VmCommandAccepted>(new CreateVm(Spec("s", "counter", RestartPolicy.Never) with { Vcpus = 2 }));
        Ask<VmCommandAccepted>(new StartVm("s"));
        var supervisor = await Sys.ActorSelection("/user/vms/s/vcpus-1").ResolveOne(TimeSpan.FromSeconds(5));
        supervisor.Tell(SaveVcpuState.Instance);
        Assert.IsType<VmmException>(ExpectMsg<Status.Failure>(TimeSpan.FromSeconds(10)).Cause);
        Ask<VmCommandAccepted>(new PauseVm("s"));
        supervisor.Tell(SaveVcpuState.Instance);
        var saved = ExpectMsg<VcpuStateSaved>(TimeSpan.FromSeconds(10)).Snapshot;
        Assert.Equal(2, saved.VcpuCount);
        Assert.Equal(2UL << 20, saved.MemoryBytes);
        Ask<VmCommandAccepted>(new StopVm("s", StopMode.Forced));
    }

    [Fact]
    public void Maps_machine_exits_to_failures_for_the_restart_policy()
    {
        Assert.False(MachineGuestRuntime.Describe(new MachineExit(MachineExitKind.GuestExit, 0, "status 0", 0)).Failed);
        Assert.True(MachineGuestRuntime.Describe(new MachineExit(MachineExitKind.GuestExit, 3, "status 3", 0)).Failed);
        Assert.True(MachineGuestRuntime.Describe(new MachineExit(MachineExitKind.Shutdown, null, "triple fault", 0)).Failed);
        Assert.True(MachineGuestRuntime.Describe(new MachineExit(MachineExitKind.InternalError, null, "ud", 0)).Failed);
        Assert.False(MachineGuestRuntime.Describe(new MachineExit(MachineExitKind.Stopped, null, "stopped", -1)).Failed);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _hypervisor.Dispose();
    }
}

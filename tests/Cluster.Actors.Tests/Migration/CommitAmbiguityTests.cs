using System.Collections.Concurrent;
using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Migration;
using Cluster.Actors.Placement;
using Cluster.Actors.Runtime;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Vms;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace Cluster.Actors.Tests.Migration;

/// <summary>
/// Issue 15 item 3: a commit whose outcome a side does not know (the journal write answers late, the notice or the Resume is
/// lost, the connection drops after the commit was written) is resolved from the VM's journal: the guest goes on running on
/// exactly the side the journal names, without a cold boot, and the other side's copy is stopped and freed. A real page
/// stream on the emulated backend between a vCPU supervisor (or a bare <see cref="MigrationSource"/>) and a
/// <see cref="MigrationReceiver"/>; the journal is the test system's own (SQLite), written by a stand-in for the VM actor.
/// </summary>
public sealed class CommitAmbiguityTests : TestKit
{
    private const string Self = "127.0.0.1:5001";
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private static readonly DateTime At = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    // A short step and I/O limit, so that a commit answered after 2.5 s is late for both sides: the source's wait times out
    // (0.3 s) and so does the target's wait for Resume (1.5 s).
    private static readonly MigrationSettings Settings = MigrationSettings.Default with
    {
        MaxIncoming = 1, StepTimeout = TimeSpan.FromMilliseconds(300), IoTimeout = TimeSpan.FromSeconds(1.5),
        CommitReadInterval = TimeSpan.FromMilliseconds(100),
    };

    private readonly EmulatedHypervisor _hypervisor = new();
    private readonly IActorRef _receiver;

    public CommitAmbiguityTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
        PlacementBoard.Get(Sys).Report(new HostStatus(Self, 2, 8 << 20, new Dictionary<string, string>(), "GenuineIntel", [], [], 1, 0,
            4 << 20, DateTime.UtcNow));
        _receiver = Sys.ActorOf(MigrationReceiver.Props(new MachineGuestRuntimeFactory(_hypervisor), Self, CreateTestProbe().Ref, null,
            PlacementSettings.Default, Settings));
    }

    private static VmSpec Spec(string id) => Specs.Of(id, "counter");

    private static string MigrationOf(string vm) => "m-" + vm;

    private IncomingReady Prepare(string vm)
    {
        _receiver.Tell(new PrepareIncoming(MigrationReceiver.ProtocolVersion, MigrationOf(vm), Spec(vm), "127.0.0.1:5000", 3));
        return ExpectMsg<IncomingReady>(Long);
    }

    /// <summary>Appends <paramref name="e"/> to the journal of VM <paramref name="vm"/>, as its VM actor's write would land.</summary>
    private void Journal(string vm, VmEvent e) => JournalWriter.Append(Sys, vm, e);

    private static VmMigrated Committed(string vm) => new(vm, At, "migrated", MigrationOf(vm), "127.0.0.1:5000", Self, 4);

    private IncomingMigration Incoming(string vm) => IncomingMigrations.Get(Sys).Find(vm) ?? throw new InvalidOperationException($"{vm} is not arriving");

    /// <summary>Asserts that <paramref name="guest"/> runs: its console goes on counting.</summary>
    private void AssertRuns(ParkedGuest? guest)
    {
        Assert.NotNull(guest);
        var output = new ConcurrentQueue<byte[]>();
        guest.Attach(output.Enqueue, _ => { });
        var before = output.Sum(b => b.Length);
        AwaitCondition(() => output.Sum(b => b.Length) > before, Long);
        guest.Guest.Stop();
        guest.Guest.Dispose();
    }

    /// <summary>A vCPU supervisor running <paramref name="vm"/> here, under a parent whose reports go to <paramref name="reports"/>.</summary>
    private IActorRef Supervising(string vm, TestProbe reports)
    {
        var hosting = new VmHosting(CreateTestProbe().Ref, null, TimeSpan.FromSeconds(1), null, Settings);
        var props = VcpuSupervisor.Props(Spec(vm), new MachineGuestRuntimeFactory(_hypervisor), CreateTestProbe().Ref, hosting);
        return Sys.ActorOf(Props.Create(() => new Parent(props, reports.Ref)));
    }

    /// <summary>Streams the guest of <paramref name="supervisor"/> to the target until the page stream asks for the commit (guest paused, target Ready).</summary>
    private void StreamUntilCommit(IActorRef supervisor, TestProbe requester, IncomingReady ready)
    {
        supervisor.Tell(new MigrateGuestOut(ready.MigrationId, ready.Address, ready.Port, new MigrationCredentials(ready.Token, ready.CertificatePin),
            MigrationLimits.Default), requester.Ref);
        requester.FishForMessage(m => m is CommitRequested, Long);
    }

    private static MigrationEnded Ended(TestProbe requester) => (MigrationEnded)requester.FishForMessage(m => m is MigrationEnded, Long);

    [Fact]
    public async Task A_commit_written_after_the_step_timeout_runs_the_guest_on_the_target_only()
    {
        var ready = Prepare("late");
        var reports = CreateTestProbe();
        var requester = CreateTestProbe();
        var supervisor = Supervising("late", reports);
        StreamUntilCommit(supervisor, requester, ready);

        // The VM actor's write lands late, past the source's step timeout and the target's wait for Resume; its notice
        // (CommitWritten) comes later still: both sides learn the outcome from the journal.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Journal("late", Committed("late"));

        var ended = Ended(requester);
        Assert.True(ended.Result.OwnershipMoved, ended.Result.FailureReason);
        AssertRuns(await Incoming("late").Arrival.WaitAsync(Long));
        supervisor.Tell(new CommitWritten(ready.MigrationId));
        // The source's guest stopped as a released guest: no exit reported to the VM actor (it would record a crash).
        reports.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_commit_whose_notice_is_lost_with_the_vm_actor_still_resumes_the_guest_on_the_target()
    {
        var ready = Prepare("lost");
        var reports = CreateTestProbe();
        var requester = CreateTestProbe();
        var supervisor = Supervising("lost", reports);
        StreamUntilCommit(supervisor, requester, ready);

        // The VM actor stops on a journal fault while its commit write is in flight (its supervisor stops with it, the
        // notice never comes), and the write lands.
        Sys.Stop(supervisor);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Journal("lost", Committed("lost"));

        var ended = Ended(requester);
        Assert.True(ended.Result.OwnershipMoved, ended.Result.FailureReason);
        AssertRuns(await Incoming("lost").Arrival.WaitAsync(Long));
    }

    [Fact]
    public async Task A_target_whose_source_drops_the_connection_after_the_commit_runs_the_guest_the_journal_gave_it()
    {
        var ready = Prepare("cut");
        using var source = Machine.Create(_hypervisor, new MachineConfig { Vcpus = 1, MemoryBytes = 2 << 20, Image = new BuiltInGuestImage("counter") });
        source.Start();
        using var cut = new CancellationTokenSource();
        var options = new MigrationOptions
        {
            DisposeSourceOnSuccess = false, IoTimeout = Settings.IoTimeout,
            // The commit is written, then the source's connections drop before Resume goes out.
            Commit = async _ =>
            {
                await Task.Run(() => Journal("cut", Committed("cut")));
                await cut.CancelAsync();
            },
        };
        var result = await new MigrationSource(source, options)
            .MigrateAsync(new IPEndPoint(IPAddress.Parse(ready.Address), ready.Port), new MigrationCredentials(ready.Token, ready.CertificatePin), ct: cut.Token);

        Assert.True(result.OwnershipMoved, result.FailureReason);
        Assert.NotEqual(MachineRunState.Running, source.State);
        AssertRuns(await Incoming("cut").Arrival.WaitAsync(Long));
    }

    [Fact]
    public async Task A_target_whose_source_drops_the_connection_frees_its_copy_when_the_journal_says_the_commit_failed()
    {
        var ready = Prepare("kept");
        using var source = Machine.Create(_hypervisor, new MachineConfig { Vcpus = 1, MemoryBytes = 2 << 20, Image = new BuiltInGuestImage("counter") });
        source.Start();
        using var cut = new CancellationTokenSource();
        var options = new MigrationOptions
        {
            DisposeSourceOnSuccess = false, IoTimeout = Settings.IoTimeout,
            // The journal records the migration's failure, then the connections drop without an Abort.
            Commit = async _ =>
            {
                await Task.Run(() => Journal("kept", new VmMigrationFailed("kept", At, "failed", MigrationOf("kept"), Self, false)));
                await cut.CancelAsync();
                throw new OperationCanceledException("not committed");
            },
        };
        var result = await new MigrationSource(source, options)
            .MigrateAsync(new IPEndPoint(IPAddress.Parse(ready.Address), ready.Port), new MigrationCredentials(ready.Token, ready.CertificatePin), ct: cut.Token);

        Assert.False(result.OwnershipMoved);
        Assert.Equal(MachineRunState.Running, source.State);
        Assert.Null(await Incoming("kept").Arrival.WaitAsync(Long));
        source.Stop();
    }

    /// <summary>Starts a child; what the child sends up goes to the probe, the rest down to the child.</summary>
    private sealed class Parent : ReceiveActor
    {
        public Parent(Props child, IActorRef probe)
        {
            var supervisor = Context.ActorOf(child, "vcpus");
            ReceiveAny(m =>
            {
                if (Sender.Equals(supervisor))
                    probe.Forward(m);
                else
                    supervisor.Forward(m);
            });
        }
    }
}

using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Persistence;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Microsoft.Data.Sqlite;

namespace Cluster.Actors.Tests.Hosting;

public class VmManagerTests : TestKit
{
    private readonly string _data;
    private readonly ScriptedGuests _guests = new();
    private readonly IActorRef _manager;

    public VmManagerTests()
        : this(TestConfig.NewDataDirectory())
    {
    }

    private VmManagerTests(string data)
        : base(TestConfig.For(data))
    {
        _data = data;
        _manager = Managers.Start(Sys, _guests);
    }

    private T Ask<T>(object message) => _manager.Ask<T>(message, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

    private VmInfo Info(string id) => Ask<VmInfo>(new GetVm(id));

    private void AwaitStatus(string id, VmStatus status) =>
        AwaitAssert(() => Assert.Equal(status, Info(id).Status), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));

    private long SnapshotCount(string persistenceId)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_data, SqliteJournal.FileName)}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM snapshot WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public void Drives_a_vm_through_create_start_pause_resume_stop()
    {
        Assert.Equal(VmStatus.Defined, Ask<VmCommandAccepted>(new CreateVm(Specs.Of("a"))).Status);
        Assert.Equal(VmStatus.Running, Ask<VmCommandAccepted>(new StartVm("a")).Status);
        AwaitAssert(() => Assert.Equal("running", Assert.Single(_guests.Created).State));
        Assert.Equal(VmStatus.Paused, Ask<VmCommandAccepted>(new PauseVm("a")).Status);
        AwaitAssert(() => Assert.Equal("paused", _guests.Created.Single().State));
        Assert.Equal(VmStatus.Running, Ask<VmCommandAccepted>(new ResumeVm("a")).Status);
        Assert.Equal(VmStatus.Stopped, Ask<VmCommandAccepted>(new StopVm("a", StopMode.Graceful)).Status);
        AwaitAssert(() => Assert.True(_guests.Created.Single().Disposed));
        Assert.Equal(VmStatus.Stopped, Info("a").Status);
    }

    [Fact]
    public void Refuses_a_duplicate_id_and_an_invalid_spec_naming_the_field()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("a")));
        Assert.Contains("already exists", Ask<NotAllowed>(new CreateVm(Specs.Of("a"))).Reason);
        Assert.Equal("memory", Ask<ValidationFailed>(new CreateVm(Specs.Of("b") with { MemoryBytes = 0 })).Field);
        Assert.Equal("image", Ask<ValidationFailed>(new CreateVm(Specs.Of("b", image: "nope"))).Field);
        Assert.Single(Ask<VmList>(ListVms.Instance).Vms);
    }

    [Fact]
    public void Answers_not_found_for_an_unknown_id() =>
        Assert.Equal("ghost", Ask<VmNotFound>(new StartVm("ghost")).VmId);

    [Fact]
    public void Refuses_to_delete_a_running_vm_then_deletes_it_once_stopped()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("a")));
        Ask<VmCommandAccepted>(new StartVm("a"));
        Assert.Contains("stop it", Ask<NotAllowed>(new DeleteVm("a")).Reason);
        Ask<VmCommandAccepted>(new StopVm("a", StopMode.Forced));
        Assert.Equal(VmStatus.Deleted, Ask<VmCommandAccepted>(new DeleteVm("a")).Status);
        AwaitAssert(() => Assert.Empty(Ask<VmList>(ListVms.Instance).Vms));
        AwaitAssert(() => Assert.Equal(VmStatus.Defined, Ask<VmCommandAccepted>(new CreateVm(Specs.Of("a"))).Status));
    }

    [Fact]
    public void A_triple_fault_without_restart_policy_leaves_the_vm_crashed_with_the_reason()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("t", image: "triple")));
        Ask<VmCommandAccepted>(new StartVm("t"));
        AwaitStatus("t", VmStatus.Crashed);
        Assert.Contains("triple fault", Info("t").Reason);
        Assert.Single(_guests.Created);
    }

    [Fact]
    public void On_failure_policy_restarts_a_crashing_guest_up_to_max_restarts()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("t", "triple", new RestartPolicy(RestartMode.OnFailure, 2))));
        Ask<VmCommandAccepted>(new StartVm("t"));
        AwaitStatus("t", VmStatus.Crashed);
        var events = Ask<VmEventList>(new GetVmEvents("t")).Events.Select(e => e.GetType()).ToList();
        Assert.Equal(
            [typeof(VmDefined), typeof(VmOwnerClaimed), typeof(VmStarted), typeof(VmCrashed), typeof(VmRestarted), typeof(VmCrashed),
             typeof(VmRestarted), typeof(VmCrashed)],
            events);
        Assert.Equal(3, _guests.Created.Count);
        Assert.All(_guests.Created, g => AwaitAssert(() => Assert.True(g.Disposed)));
    }

    [Fact]
    public void A_crash_looping_guest_is_restarted_with_a_growing_back_off_then_left_crashed()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("t", "triple", new RestartPolicy(RestartMode.OnFailure, 3))));
        Ask<VmCommandAccepted>(new StartVm("t"));

        AwaitAssert(() => Assert.Equal(4, _guests.Created.Count), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(50));
        AwaitStatus("t", VmStatus.Crashed);

        var boots = _guests.Created.Select(g => g.CreatedAt).ToList();
        // The first restart comes at once; the second waits 1 s and the third 2 s (lower bounds only: a slow host adds).
        Assert.True(boots[2] - boots[1] >= TimeSpan.FromMilliseconds(950), $"second restart after {(boots[2] - boots[1]).TotalMilliseconds} ms");
        Assert.True(boots[3] - boots[2] >= TimeSpan.FromMilliseconds(1950), $"third restart after {(boots[3] - boots[2]).TotalMilliseconds} ms");
        var restarts = Ask<VmEventList>(new GetVmEvents("t")).Events.OfType<VmRestarted>().Select(r => r.Reason).ToList();
        Assert.Equal(["restart policy OnFailure (1/3), at once", "restart policy OnFailure (2/3), after 1 s", "restart policy OnFailure (3/3), after 2 s"], restarts);
        Assert.Equal(4, _guests.Created.Count);
    }

    [Fact]
    public void A_stop_during_a_restart_back_off_cancels_the_restart()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("t", "triple", new RestartPolicy(RestartMode.OnFailure, 3))));
        Ask<VmCommandAccepted>(new StartVm("t"));
        AwaitAssert(() => Assert.Equal(2, Ask<VmEventList>(new GetVmEvents("t")).Events.OfType<VmRestarted>().Count()),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));

        Ask<VmCommandAccepted>(new StopVm("t", StopMode.Forced));
        Thread.Sleep(1500);

        Assert.Equal(VmStatus.Stopped, Ask<VmInfo>(new GetVm("t")).Status);
        Assert.Equal(2, _guests.Created.Count);
    }

    [Fact]
    public void A_clean_guest_exit_stops_the_vm()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("e", image: "exit0")));
        Ask<VmCommandAccepted>(new StartVm("e"));
        AwaitStatus("e", VmStatus.Stopped);
        Assert.Contains("status 0", Info("e").Reason);
    }

    [Fact]
    public void Recovers_from_the_journal_in_a_fresh_actor_system()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("run")));
        Ask<VmCommandAccepted>(new StartVm("run"));
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("stop")));
        Ask<VmCommandAccepted>(new StartVm("stop"));
        Ask<VmCommandAccepted>(new StopVm("stop", StopMode.Graceful));
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("gone")));
        Ask<VmCommandAccepted>(new DeleteVm("gone"));
        for (var i = 0; i < 5; i++)
        {
            Ask<VmCommandAccepted>(new PauseVm("run"));
            Ask<VmCommandAccepted>(new ResumeVm("run"));
        }
        AwaitAssert(() => Assert.Equal(2, Ask<VmList>(ListVms.Instance).Vms.Count));
        AwaitAssert(() => Assert.True(SnapshotCount("vm-run") > 0, "a snapshot of vm-run"));
        Shutdown(Sys);

        var fresh = ActorSystem.Create("fresh", TestConfig.For(_data));
        try
        {
            var guests = new ScriptedGuests();
            var manager = Managers.Start(fresh, guests);
            VmList? list = null;
            AwaitAssert(() =>
            {
                list = manager.Ask<VmList>(ListVms.Instance, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
                Assert.Equal("cold boot: the journal says it was running (node restart or host failover)", list.Vms.Single(v => v.Spec.Id == "run").Reason);
            }, TimeSpan.FromSeconds(10));
            Assert.Equal(VmStatus.Running, list!.Vms.Single(v => v.Spec.Id == "run").Status);
            Assert.Equal(["run", "stop"], list!.Vms.Select(v => v.Spec.Id));
            Assert.Equal(VmStatus.Stopped, list.Vms.Single(v => v.Spec.Id == "stop").Status);
            AwaitAssert(() => Assert.Equal("running", Assert.Single(guests.Created).State));
        }
        finally
        {
            Shutdown(fresh);
        }
    }

    [Fact]
    public async Task Creates_sent_at_once_are_all_registered_once_and_listed_after_a_restart()
    {
        // The registry writes the registrations that arrive during a write together; each VM's actor recovers meanwhile.
        var creates = new List<Task<IVmReply>>();
        for (var i = 0; i < 12; i++)
            creates.Add(_manager.Ask<IVmReply>(new CreateVm(Specs.Of($"vm-{i:D2}")), TimeSpan.FromSeconds(30)));
        creates.Add(_manager.Ask<IVmReply>(new CreateVm(Specs.Of("vm-00")), TimeSpan.FromSeconds(30)));
        var replies = await Task.WhenAll(creates);
        Assert.Equal(12, replies.OfType<VmCommandAccepted>().Count());
        Assert.Contains("already exists", Assert.IsType<NotAllowed>(replies[^1]).Reason);
        Ask<VmCommandAccepted>(new StartVm("vm-03"));
        Shutdown(Sys);

        var fresh = ActorSystem.Create("fresh", TestConfig.For(_data));
        try
        {
            var guests = new ScriptedGuests();
            var manager = Managers.Start(fresh, guests);
            AwaitAssert(() =>
            {
                var list = manager.Ask<VmList>(ListVms.Instance, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
                Assert.Equal(Enumerable.Range(0, 12).Select(i => $"vm-{i:D2}"), list.Vms.Select(v => v.Spec.Id));
                Assert.Equal(VmStatus.Running, list.Vms.Single(v => v.Spec.Id == "vm-03").Status);
                Assert.All(list.Vms.Where(v => v.Spec.Id != "vm-03"), v => Assert.Equal(VmStatus.Defined, v.Status));
            }, TimeSpan.FromSeconds(10));
        }
        finally
        {
            Shutdown(fresh);
        }
    }
}

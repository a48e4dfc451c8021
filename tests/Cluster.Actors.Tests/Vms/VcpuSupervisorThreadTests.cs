using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Runtime;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

/// <summary>The vCPU supervisors' blocking calls to their guests run on threads of their own, not on the thread pool.</summary>
public sealed class VcpuSupervisorThreadTests : TestKit, IDisposable
{
    private readonly GatedGuests _guests = new();
    private readonly IActorRef _manager;

    public VcpuSupervisorThreadTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory())) =>
        _manager = Managers.Start(Sys, _guests);

    private T Ask<T>(object message) => _manager.Ask<T>(message, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

    [Fact]
    public void A_guest_is_created_and_started_off_the_thread_pool()
    {
        Ask<VmCommandAccepted>(new CreateVm(Specs.Of("a")));
        Ask<VmCommandAccepted>(new StartVm("a"));
        AwaitAssert(() => Assert.Single(_guests.Boots));
        Assert.False(_guests.Boots.Single().OnThreadPool);
    }

    [Fact]
    public void Guests_slow_to_boot_do_not_hold_up_the_other_vms()
    {
        // More boots blocked at once than the thread pool has threads to begin with (one per core). On the thread pool they
        // held up the journal and the manager (the blocked round below took 8.9 s on 2 cores against 4.4 s unblocked);
        // on threads of their own nothing waits for them. Timed against the same round unblocked, on the same machine.
        var slow = Environment.ProcessorCount * 2 + 2;
        var unblocked = Round("free-", slow);
        var blocked = Round("slow-", slow);
        Assert.Equal(slow, _guests.Waiting);
        _guests.Open();
        Assert.True(blocked < unblocked * 2 + TimeSpan.FromSeconds(0.5),
            $"{slow} VMs created and started, then one more booted: {blocked.TotalMilliseconds:F0} ms with their boots blocked, " +
            $"{unblocked.TotalMilliseconds:F0} ms without");
    }

    /// <summary>Creates and starts <paramref name="count"/> VMs named <paramref name="prefix"/>N, then one more; how long until that
    /// one booted.</summary>
    private TimeSpan Round(string prefix, int count)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i <= count; i++)
        {
            var id = i < count ? $"{prefix}{i}" : $"{prefix}last";
            Ask<VmCommandAccepted>(new CreateVm(Specs.Of(id)));
            Ask<VmCommandAccepted>(new StartVm(id));
        }
        AwaitAssert(() => Assert.Contains(_guests.Boots, b => b.Id == $"{prefix}last"), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(5));
        return clock.Elapsed;
    }

    void IDisposable.Dispose()
    {
        _guests.Open();
        Dispose();
    }

    /// <summary>Scripted guests whose creation blocks until <see cref="Open"/> for ids "slow-N" (not "slow-last").</summary>
    private sealed class GatedGuests : IGuestRuntimeFactory
    {
        private readonly ScriptedGuests _inner = new();
        private readonly ManualResetEventSlim _gate = new(false);
        private int _waiting;

        public System.Collections.Concurrent.ConcurrentQueue<(string Id, bool OnThreadPool)> Boots { get; } = new();

        public int Waiting => Volatile.Read(ref _waiting);

        public IReadOnlySet<string> BuiltInImages => _inner.BuiltInImages;

        public int MaxVcpus => _inner.MaxVcpus;

        public void Open() => _gate.Set();

        public IGuestRuntime Create(VmSpec spec)
        {
            if (spec.Id.StartsWith("slow-", StringComparison.Ordinal) && spec.Id != "slow-last")
            {
                Interlocked.Increment(ref _waiting);
                _gate.Wait();
            }
            Boots.Enqueue((spec.Id, Thread.CurrentThread.IsThreadPoolThread));
            return _inner.Create(spec);
        }
    }
}

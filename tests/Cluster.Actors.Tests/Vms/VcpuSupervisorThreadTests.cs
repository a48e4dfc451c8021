using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Runtime;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.Vms;

/// <summary>The vCPU supervisors' blocking calls to their guests run on threads of their own, not on the thread pool.</summary>
public sealed class VcpuSupervisorThreadTests : TestKit
{
    private readonly RecordingGuests _guests = new();
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
        Assert.False(_guests.Boots.Single(), "the guest was created on a thread-pool thread");
    }

    /// <summary>Scripted guests that record whether each was created on a thread-pool thread.</summary>
    private sealed class RecordingGuests : IGuestRuntimeFactory
    {
        private readonly ScriptedGuests _inner = new();

        public System.Collections.Concurrent.ConcurrentQueue<bool> Boots { get; } = new();

        public IReadOnlySet<string> BuiltInImages => _inner.BuiltInImages;

        public int MaxVcpus => _inner.MaxVcpus;

        public IGuestRuntime Create(VmSpec spec)
        {
            Boots.Enqueue(Thread.CurrentThread.IsThreadPoolThread);
            return _inner.Create(spec);
        }
    }
}

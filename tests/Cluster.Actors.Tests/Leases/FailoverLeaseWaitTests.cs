using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Clustering;
using Cluster.Actors.Leases;
using Cluster.Actors.Migration;
using Cluster.Actors.Tests.Migration;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Actors.Vms;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Events;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Tests.Leases;

/// <summary>
/// A failover claim (a VM whose owner was another host boots cold here) waits for the old owner's host lease to run out by
/// the database's clock when the incarnation holding it is not an Up member: that host may only be stalled or cut off, and
/// its guests run within their permits until its lease ends; when it is an Up member, until that host answers that it
/// released the VM (stopped what it still ran of it outside a VM actor).
/// </summary>
public sealed class FailoverLeaseWaitTests : TestKit
{
    private const string Self = "127.0.0.1:5100";
    private const string OldOwner = "127.0.0.1:5200";
    private static readonly DateTime At = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public FailoverLeaseWaitTests()
        : base(LeaseTestConfig.For(TestConfig.NewDataDirectory(), cluster: true))
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up, TimeSpan.FromSeconds(30));
    }

    private (IActorRef Vm, ScriptedGuests Guests) StartVm(string id)
    {
        var guests = new ScriptedGuests();
        var hosting = new VmHosting(CreateTestProbe().Ref, null, TimeSpan.FromMinutes(10), CreateTestProbe().Ref, MigrationSettings.Default);
        return (Sys.ActorOf(VmActor.Props(id, guests, new VmActorSettings(50, 1024, 100, Self), hosting)), guests);
    }

    private static void RanOn(ActorSystem system, string id, string host) =>
        JournalWriter.Append(system, id,
            new VmDefined(id, At, "defined", Specs.Of(id)),
            new VmOwnerClaimed(id, At, $"owned by {host}", 1, host),
            new VmStarted(id, At, "started"));

    [Fact]
    public async Task A_failover_claim_waits_until_the_old_owners_lease_expired()
    {
        RanOn(Sys, "failover", OldOwner);
        var store = HostLeases.Get(Sys).Store!;
        Assert.True(await store.TryAcquireAsync(HostLeases.LeaseName(OldOwner), $"{OldOwner}#777", TimeSpan.FromSeconds(8)));
        // The database's clock is this machine's wall clock (SQLite): the claim's time stamp is comparable with the expiry.
        var expires = DateTime.UtcNow.AddMilliseconds((await store.ReadAsync(HostLeases.LeaseName(OldOwner)))!.RemainingMs);

        var (vm, guests) = StartVm("failover");
        AwaitCondition(() => guests.Created.Count == 1, TimeSpan.FromSeconds(30));
        var events = (await vm.Ask<VmEventList>(new GetVmEvents("failover"), TimeSpan.FromSeconds(10))).Events;
        var claim = events.OfType<VmOwnerClaimed>().Single(c => c.Host == Self);
        Assert.True(claim.At >= expires.AddMilliseconds(-50),
            $"claimed at {claim.At:HH:mm:ss.fff}, before the old owner's lease expired at {expires:HH:mm:ss.fff}");
        Assert.False((await store.ReadAsync(HostLeases.LeaseName(OldOwner)))!.Unexpired);
    }

    [Fact]
    public async Task A_failover_claim_from_an_up_member_waits_until_that_host_answers_that_it_released_the_vm()
    {
        RanOn(Sys, "owner-up", OldOwner);
        // The old owner's lease is held by an incarnation that is an Up member (this one, as it happens): a live host renews its
        // lease, so the claim asks that host to release the VM instead of waiting for the lease (which would last the minute).
        var uid = Akka.Cluster.Cluster.Get(Sys).SelfUniqueAddress.Uid;
        Assert.True(await HostLeases.Get(Sys).Store!.TryAcquireAsync(HostLeases.LeaseName(OldOwner), $"{OldOwner}#{uid}", TimeSpan.FromMinutes(1)));
        var (_, guests) = StartVm("owner-up");

        // No migration receiver answers there yet: the claim waits (it may not boot beside a guest that host still runs).
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Empty(guests.Created);

        Sys.ActorOf(MigrationReceiver.Props(new ScriptedGuests(), OldOwner, CreateTestProbe().Ref, null, Cluster.Actors.Placement.PlacementSettings.Default,
            MigrationSettings.Default), MigrationReceiver.Name);
        AwaitCondition(() => guests.Created.Count == 1, TimeSpan.FromSeconds(30));
    }
}

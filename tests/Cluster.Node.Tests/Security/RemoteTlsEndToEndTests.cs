using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Contracts.Commands;
using Cluster.Node.Security;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization.Tls;
using Cluster.Vmctl.Client;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Cluster.Node.Tests.Security;

/// <summary>
/// A real cluster node (its own process, the test run's CA) against in-test ActorSystems that hold certificates from
/// another CA, expired ones, revoked ones and, as the control that proves the refusals are the certificates' doing, a
/// valid one: only the valid one joins the cluster, and only its control messages take effect.
/// </summary>
public sealed class RemoteTlsEndToEndTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "remote-tls-e2e", Guid.NewGuid().ToString("N"));
    private readonly int _port = ProcessRunner.FreePort();
    private readonly List<ActorSystem> _systems = [];
    private NodeProcess? _node;

    private string Host => $"127.0.0.1:{_port}";

    private ClusterVmctl Ctl => new(_ => Host);

    /// <summary>
    /// A certificate of <paramref name="ca"/> named <paramref name="name"/>, valid for the given span, with the cluster's
    /// trust (ca.crt is public: an intruder accepts the node, so what is tested is whether the node accepts the intruder).
    /// </summary>
    private RemoteTls Identity(string ca, string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var file = Path.Combine(_data, "certs", name + ".crt");
        CertificateAuthority.Issue(ca, name, file, notBefore, notAfter);
        return RemoteTls.Unchecked(X509Certificate2.CreateFromPemFile(file, TlsFiles.KeyOf(file)), ClusterTrust.Load(TestCa.Directory));
    }

    /// <summary>An ActorSystem on 127.0.0.5x with the contracts' serializer and TLS with <paramref name="tls"/>.</summary>
    private ActorSystem System(string name, RemoteTls tls, bool member)
    {
        var config = ConfigurationFactory.ParseString(
                $"""
                akka.loglevel = WARNING
                akka.actor.provider = {(member ? "cluster" : "remote")}
                akka.remote.dot-netty.tcp.hostname = "127.0.0.5{_systems.Count}"
                akka.remote.dot-netty.tcp.port = 0
                akka.cluster.roles = [intruder]
                # A joining node's downing provider must match the cluster's (Akka's join compatibility check).
                akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
                """)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "base.conf"))));
        // A member must carry the cluster's system name; a plain remote client may have any.
        var system = ActorSystem.Create(member ? "hypervisor" : name, tls.Bootstrap(config));
        _systems.Add(system);
        return system;
    }

    private static TaskCompletionSource UpWhenJoined(ActorSystem system, string seed)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cluster = AkkaCluster.Get(system);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.JoinSeedNodes([Address.Parse($"{RemoteTls.Protocol}://hypervisor@{seed}")]);
        return up;
    }

    private static void Delete(ActorSystem system, string host, string vm) =>
        system.ActorSelection($"{RemoteTls.Protocol}://hypervisor@{host}/user/vms").Tell(new DeleteVm(vm));

    private async Task<IReadOnlyList<string>> VmIds() =>
        [.. (await Ctl.ListAsync(0)).Select(v => v.GetProperty("id").GetString()!).Order()];

    [Fact]
    public async Task Only_a_peer_with_a_valid_unrevoked_certificate_of_the_cluster_ca_joins_or_commands()
    {
        Directory.CreateDirectory(_data);
        _node = await NodeProcess.StartAsync(_port, Path.Combine(_data, "n0"), "--seed", Host, "--journal",
            $"sqlite:{Path.Combine(_data, "journal.db")}", "--vcpus", "2", "--memory", "32M", "--rebalance", "off");
        foreach (var vm in new[] { "keep-a", "keep-b", "keep-c", "victim" })
            await Ctl.Ok(0, "create", vm, "--image", "counter", "--memory", "4M");
        var other = Path.Combine(_data, "other-ca");
        CertificateAuthority.Init(other);
        var now = DateTimeOffset.UtcNow;
        var foreign = Identity(other, "foreign", now.AddMinutes(-5), now.AddDays(1));
        var expired = Identity(TestCa.Directory, "expired", now.AddHours(-20), now.AddHours(-1));
        var revoked = Identity(TestCa.Directory, "revoked", now.AddMinutes(-5), now.AddDays(1));
        var valid = Identity(TestCa.Directory, "valid", now.AddMinutes(-5), now.AddDays(1));
        CertificateAuthority.Revoke(TestCa.Directory, revoked.Certificate.SerialNumber);

        // Commands straight to the control entry point (no client handshake of vmctl's in the way).
        Delete(System("foreign", foreign, member: false), Host, "keep-a");
        Delete(System("expired", expired, member: false), Host, "keep-b");
        Delete(System("revoked", revoked, member: false), Host, "keep-c");
        Delete(System("valid", valid, member: false), Host, "victim");
        await ClusterVmctl.Eventually(async () => !(await VmIds()).Contains("victim"), "the valid peer's delete", 30);

        // Joins: the valid one becomes a member; the others stay outside while it does and for a while after.
        var refused = new[] { ("foreign", foreign), ("expired", expired), ("revoked", revoked) }
            .Select(p => UpWhenJoined(System(p.Item1, p.Item2, member: true), Host).Task).ToList();
        await UpWhenJoined(System("valid", valid, member: true), Host).Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.All(refused, t => Assert.False(t.IsCompleted));

        Assert.Equal(["keep-a", "keep-b", "keep-c"], await VmIds());
        Assert.Equal(2, AkkaCluster.Get(_systems[^1]).State.Members.Count);
        await Assert.ThrowsAsync<NodeUnreachableException>(() => NodeClient.ConnectAsync(Host, TimeSpan.FromSeconds(2), NodeTokens.AdminToken(Host), foreign));
        var output = _node.Output;
        Assert.Contains("does not chain to the cluster CA", output);
        Assert.Contains("is not valid now", output);
        Assert.Contains($"serial {RevocationList.Normalize(revoked.Certificate.SerialNumber)} is revoked", output);
        Assert.Equal(1, JsonDocument.Parse((await Ctl.Ok(0, "--json", "nodes")).Stdout).RootElement.GetArrayLength());
    }

    public void Dispose()
    {
        Task.WhenAll(_systems.Select(s => s.Terminate())).Wait(TimeSpan.FromSeconds(15));
        NodeTeardown.Run([_node], "remote-tls-", null, _data);
    }
}

using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Cluster.Contracts.Commands;
using Cluster.Node.Tests.TestUtils;
using Cluster.Serialization.Tls;
using Cluster.Vmctl.Client;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Cluster.Node.Tests.Security;

/// <summary>
/// A CA rotation on a running two-node cluster, through the real command line (<c>cluster-node ca rotate|issue|retire</c>)
/// and real node processes on loopback (emulated backend, one SQLite journal): each node restarted in turn issues itself a
/// certificate of the new CA while its peer still holds the old one, the cluster reforms mixed, a guest counts on through
/// the whole sequence, and after the retirement a certificate of the old CA neither joins nor commands. The CA is this
/// test's own (not <see cref="TestCa"/>, which the other tests share), so nodes and vmctl are pointed at it here.
/// </summary>
public sealed partial class CaRotationEndToEndTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _data = Path.Combine(Path.GetTempPath(), "ca-rotation-e2e", Guid.NewGuid().ToString("N"));
    private readonly int[] _ports = [ProcessRunner.FreePort(), ProcessRunner.FreePort()];
    private readonly NodeProcess?[] _nodes = new NodeProcess?[2];
    private readonly List<ActorSystem> _systems = [];

    private string Ca => Path.Combine(_data, "ca");

    private string Host(int i) => $"127.0.0.1:{_ports[i]}";

    private string DataOf(int i) => Path.Combine(_data, $"n{i}");

    [GeneratedRegex(@"count (\d+)")]
    private static partial Regex CountLine();

    private Task<ProcessResult> CaCli(params string[] args) =>
        ProcessRunner.RunAsync(Executables.NodeDll, CommandTimeout, ["ca", .. args, "--ca", Ca]);

    /// <summary>vmctl through node <paramref name="via"/>, with this test's CA as its TLS directory; asserts success.</summary>
    private async Task<ProcessResult> Ok(int via, params string[] args)
    {
        var result = await ProcessRunner.RunAsync(Executables.VmctlDll, CommandTimeout, [(ClientTls.Variable, Ca)],
            ["--node", Host(via), "--data", DataOf(via), "--timeout", "20", .. args]);
        Assert.True(result.ExitCode == 0, $"vmctl {string.Join(' ', args)} via {Host(via)} -> {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        return result;
    }

    private async Task StartNode(int i)
    {
        var info = ProcessRunner.DotnetExec(Executables.NodeDll,
        [
            "run", "--port", $"{_ports[i]}", "--data", DataOf(i), "--backend", "emulated", "--ca", Ca,
            // Both seeds on both nodes: a restarted node joins the one still up instead of forming a cluster of its own.
            "--seed", Host(0), "--seed", Host(1), "--journal", $"sqlite:{Path.Combine(_data, "journal.db")}",
            "--vcpus", "2", "--memory", "32M", "--rebalance", "off", "--label", $"zone=z{i}",
        ]);
        info.Environment[ClientTls.Variable] = Ca;
        _nodes[i] = await NodeProcess.StartAsync(info);
    }

    /// <summary>The issuer of the certificate node <paramref name="i"/> presents (DATA/tls/node.crt, which it issued itself).</summary>
    private string IssuerOf(int i)
    {
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(TlsFiles.CertificateIn(Path.Combine(DataOf(i), "tls"), "node")));
        return certificate.Issuer;
    }

    private string CurrentCaSubject() => ClusterTrust.ReadRoots(Path.Combine(Ca, TlsFiles.CaCertificate))[0].Subject;

    private async Task<long> LastCount(int via, string vm)
    {
        var matches = CountLine().Matches((await Ok(via, "console", vm, "--bytes", "256")).Stdout);
        return matches.Count == 0 ? -1 : long.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Both hosts are members as seen through each node and, given a <paramref name="probe"/> name, each node places a VM
    /// on the other host (its placement reads the other's advertised status, and the create crosses to the other's shard region).
    /// </summary>
    private async Task AssertClusterWhole(string? probe)
    {
        for (var via = 0; via < 2; via++)
        {
            var deadline = DateTime.UtcNow.AddSeconds(45);
            while (true)
            {
                var seen = (await Ok(via, "--json", "nodes")).Stdout;
                var hosts = JsonDocument.Parse(seen).RootElement.EnumerateArray().Select(n => n.GetProperty("host").GetString()).Order();
                if (hosts.SequenceEqual(new[] { Host(0), Host(1) }.Order()))
                    break;
                Assert.True(DateTime.UtcNow < deadline, $"both hosts through {Host(via)}: {seen}");
                await Task.Delay(500);
            }
        }
        if (probe is null)
            return;
        Assert.Contains($"on {Host(1)}", (await Ok(0, "create", probe + "-b", "--image", "counter", "--memory", "4M", "--label", "require.zone=z1")).Stdout);
        Assert.Contains($"on {Host(0)}", (await Ok(1, "create", probe + "-a", "--image", "counter", "--memory", "4M", "--label", "require.zone=z0")).Stdout);
        // Pinned, they would keep a drain from emptying their host.
        await Ok(1, "delete", probe + "-b");
        await Ok(0, "delete", probe + "-a");
    }

    /// <summary>
    /// A rolling restart of node <paramref name="i"/> as an operator does it in cluster mode: drained through the other node
    /// (its guests leave live), stopped (SIGTERM) and started again (it issues itself a certificate of the current CA),
    /// back in the cluster, undrained. (Without the drain, a node stopped in cluster mode hands its shards to the other
    /// node, which boots its guests there cold.)
    /// </summary>
    private async Task Restart(int i)
    {
        await Ok(1 - i, "drain", Host(i), "--wait");
        _nodes[i]!.Terminate(TimeSpan.FromSeconds(30));
        _nodes[i]!.Dispose();
        await StartNode(i);
        await AssertClusterWhole(null);
        await Ok(1 - i, "undrain", Host(i));
    }

    [Fact]
    public async Task A_ca_rotation_with_a_rolling_restart_keeps_the_cluster_and_its_guest_and_the_retired_ca_is_refused()
    {
        Directory.CreateDirectory(_data);
        Assert.Equal(0, (await ProcessRunner.RunAsync(Executables.NodeDll, CommandTimeout, "ca", "init", "--dir", Ca)).ExitCode);
        Assert.Equal(0, (await CaCli("issue", "vmctl")).ExitCode);
        var ca1 = CurrentCaSubject();
        // A certificate of CA #1 kept aside: the peer that must be refused once CA #1 is retired.
        var old = Path.Combine(_data, "old");
        Assert.Equal(0, (await CaCli("issue", "old-peer", "--out", old)).ExitCode);

        // 1. Two nodes on CA #1, a counting guest.
        await StartNode(0);
        await StartNode(1);
        Assert.Equal(ca1, IssuerOf(0));
        Assert.Equal(ca1, IssuerOf(1));
        await AssertClusterWhole(null);
        await Ok(0, "create", "tick", "--image", "counter", "--memory", "4M", "--start");
        await ClusterVmctl.Eventually(async () => await LastCount(0, "tick") > 0, "the guest to count", 30);
        var counts = new List<long> { await LastCount(0, "tick") };

        // 2. Rotation: CA #2 current, both trusted; node 0 restarts on a CA #2 certificate while node 1 is still on CA #1,
        // and the guest, drained off node 0, then off node 1, crosses between a CA #1 node and a CA #2 node.
        var rotate = await CaCli("rotate");
        Assert.True(rotate.ExitCode == 0, rotate.Stderr);
        var ca2 = CurrentCaSubject();
        Assert.NotEqual(ca1, ca2);
        Assert.Equal(0, (await CaCli("issue", "vmctl")).ExitCode);
        await Restart(0);
        Assert.Equal(ca2, IssuerOf(0));
        Assert.Equal(ca1, IssuerOf(1));
        counts.Add(await CountsOn(1, "tick", counts[^1]));
        // Control for step 4: while CA #1 is still trusted, its certificate commands (deletes a decoy).
        await Ok(0, "create", "decoy1", "--image", "counter", "--memory", "4M");
        Delete(System("old1", OldPeer(old), member: false), Host(0), "decoy1");
        await ClusterVmctl.Eventually(async () => !(await VmIds()).Contains("decoy1"), "the CA #1 peer's delete before the retirement", 30);

        await Restart(1);
        Assert.Equal(ca2, IssuerOf(1));
        counts.Add(await CountsOn(0, "tick", counts[^1]));

        // 3. Retirement: only CA #2 trusted; the cluster still works and the guest still counts.
        var retire = await CaCli("retire");
        Assert.True(retire.ExitCode == 0, retire.Stderr);
        Assert.Contains(ca1, retire.Stdout);
        Assert.Single(ClusterTrust.ReadRoots(Path.Combine(Ca, TlsFiles.CaCertificate)));
        await AssertClusterWhole("p4");
        counts.Add(await CountsOn(1, "tick", counts[^1]));
        // The guest was never booted again: started once, moved live by the drains (off node 0 if placed there, then, in
        // the mixed cluster, from node 1 on CA #1 to node 0 on CA #2), never a cold boot.
        var events = (await Ok(0, "events", "tick")).Stdout;
        Assert.True(Regex.Matches(events, "VmStarted").Count == 1 && !events.Contains("cold boot", StringComparison.Ordinal), events);
        Assert.True(events.Contains($"{Host(1)} -> {Host(0)}, by drain", StringComparison.Ordinal), events);
        Assert.True(Regex.Matches(events, "VmMigrationCompleted").Count >= 1, events);
        Assert.Equal(Host(0), await NodeOf("tick"));

        // 4. A peer on a CA #1 certificate: neither joins nor commands.
        await Ok(0, "create", "decoy2", "--image", "counter", "--memory", "4M");
        var refusedJoin = UpWhenJoined(System("old2", OldPeer(old), member: true), Host(0)).Task;
        Delete(System("old3", OldPeer(old), member: false), Host(1), "decoy2");
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.False(refusedJoin.IsCompleted);
        Assert.Contains("decoy2", await VmIds());
        Assert.Contains("does not chain to the cluster CA", _nodes[0]!.Output + _nodes[1]!.Output);
    }

    private RemoteTls OldPeer(string directory)
    {
        var file = TlsFiles.CertificateIn(directory, "old-peer");
        return RemoteTls.Unchecked(X509Certificate2.CreateFromPemFile(file, TlsFiles.KeyOf(file)), ClusterTrust.Load(Ca));
    }

    /// <summary>Waits until <paramref name="vm"/>'s console shows a count past <paramref name="after"/>, and returns it.</summary>
    private async Task<long> CountsOn(int via, string vm, long after)
    {
        var count = -1L;
        await ClusterVmctl.Eventually(async () => (count = await LastCount(via, vm)) > after, $"{vm} to count past {after}", 30);
        return count;
    }

    private async Task<string> NodeOf(string vm) =>
        JsonDocument.Parse((await Ok(0, "--json", "list")).Stdout).RootElement.EnumerateArray()
            .Single(v => v.GetProperty("id").GetString() == vm).GetProperty("node").GetString()!;

    private async Task<IReadOnlyList<string>> VmIds() =>
        [.. JsonDocument.Parse((await Ok(0, "--json", "list")).Stdout).RootElement.EnumerateArray().Select(v => v.GetProperty("id").GetString()!)];

    /// <summary>An ActorSystem on 127.0.0.6x with the contracts' serializer and TLS with <paramref name="tls"/>.</summary>
    private ActorSystem System(string name, RemoteTls tls, bool member)
    {
        var config = ConfigurationFactory.ParseString(
                $"""
                akka.loglevel = WARNING
                akka.actor.provider = {(member ? "cluster" : "remote")}
                akka.remote.dot-netty.tcp.hostname = "127.0.0.6{_systems.Count}"
                akka.remote.dot-netty.tcp.port = 0
                akka.cluster.roles = [intruder]
                akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
                """)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "base.conf"))));
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

    public void Dispose()
    {
        Task.WhenAll(_systems.Select(s => s.Terminate())).Wait(TimeSpan.FromSeconds(15));
        NodeTeardown.Run(_nodes, "ca-rotation-", null, _data);
    }
}

using System.Diagnostics;
using System.Text;

namespace Cluster.Vmm.Networking;

/// <summary>
/// A network's parts on one host, set up and torn down with the host's own tools, as libvirt does:
/// <list type="bullet">
/// <item>nat: a Linux bridge with the gateway address, dnsmasq serving DHCP on it (static leases only: the cluster
/// assigns every address), and an nftables table that masquerades the subnet's traffic leaving it;</item>
/// <item>bridge: nothing but a check that the host bridge exists;</item>
/// <item>overlay: the bridge and dnsmasq as for nat (no masquerade), plus a VXLAN device on it with one forwarding
/// entry per peer host, and nftables rules that accept VXLAN only from those peers and keep DHCP and the gateway's ARP
/// on each host (every host is the gateway, with one MAC: a VM that moves keeps its gateway, its lease and its ARP entry).</item>
/// </list>
/// <see cref="Apply"/> is idempotent (it converges what exists); <see cref="Remove"/> leaves nothing behind.
/// </summary>
public sealed class HostNetwork
{
    private readonly HostCommands _ip;
    private readonly string _state;
    private Process? _dnsmasq;

    /// <param name="spec">The network.</param>
    /// <param name="commands">Where the tools run (a network namespace in tests).</param>
    /// <param name="stateDirectory">Where this network's dnsmasq files live (a folder per network is created; dnsmasq runs as
    /// nobody, so the folders above must be traversable by others, like /run/cluster-hypervisor).</param>
    public HostNetwork(HostNetworkSpec spec, HostCommands commands, string stateDirectory)
    {
        if (spec.Problems() is { Count: > 0 } problems)
            throw new NetworkSetupException(string.Join("; ", problems));
        Spec = spec;
        _ip = commands;
        _state = Path.Combine(stateDirectory, spec.Name);
    }

    public HostNetworkSpec Spec { get; }

    /// <summary>The file of static leases dnsmasq serves ("MAC,IP" per line).</summary>
    public string HostsFile => Path.Combine(_state, "hosts");

    /// <summary>The tools a mode needs that this host lacks (empty when all are there).</summary>
    public static IReadOnlyList<string> MissingTools(NetworkMode mode) =>
        [.. (mode == NetworkMode.Bridge ? new[] { "ip" } : ["ip", "bridge", "nft", "dnsmasq"]).Where(t => !HostCommands.Installed(t))];

    /// <summary>
    /// Sets the network up on this host (or converges it): <paramref name="leases"/> are the static addresses
    /// (MAC -> IP) dnsmasq serves; on an overlay, <paramref name="local"/> is this host's underlay address and
    /// <paramref name="peers"/> the other hosts'.
    /// </summary>
    public void Apply(IReadOnlyDictionary<string, string> leases, string? local = null, IReadOnlyList<string>? peers = null)
    {
        if (MissingTools(Spec.Mode) is { Count: > 0 } missing)
            throw new NetworkSetupException($"network {Spec.Name} needs {string.Join(", ", missing)} (apt-get install iproute2 nftables dnsmasq-base)");
        if (Spec.Mode == NetworkMode.Bridge)
        {
            var (exit, _, _) = _ip.TryRun("ip", ["-d", "link", "show", "dev", Spec.BridgeName, "type", "bridge"]);
            if (exit != 0)
                throw new NetworkSetupException($"network {Spec.Name}: the host bridge '{Spec.BridgeName}' does not exist on this host");
            return;
        }
        if (Spec.Mode == NetworkMode.Overlay && string.IsNullOrEmpty(local))
            throw new NetworkSetupException($"overlay {Spec.Name} needs this host's underlay address");
        // dnsmasq drops to the user nobody (it parses DHCP from guests): its files must be readable by it, and the
        // folders above this one traversable.
        Directory.CreateDirectory(_state);
        if (OperatingSystem.IsLinux())
            File.SetUnixFileMode(_state, (UnixFileMode)0b111_101_101);
        var subnet = Spec.Subnet!;
        var bridge = Spec.BridgeName;
        if (!Exists(bridge))
            _ip.Run("ip", ["link", "add", "name", bridge, "type", "bridge"]);
        _ip.Run("ip", ["link", "set", "dev", bridge, "address", Spec.GatewayMac, "mtu", Spec.GuestMtu.ToString()]);
        _ip.Run("ip", ["addr", "replace", $"{subnet.Gateway}/{subnet.Prefix}", "dev", bridge]);
        if (Spec.Mode == NetworkMode.Overlay)
        {
            var vx = Spec.VxlanName;
            if (!Exists(vx))
                _ip.Run("ip", ["link", "add", vx, "type", "vxlan", "id", Spec.Vni.ToString(), "dstport", HostNetworkSpec.VxlanPort.ToString(),
                    "local", local!, "nolearning"]);
            _ip.Run("ip", ["link", "set", "dev", vx, "master", bridge, "mtu", Spec.GuestMtu.ToString(), "up"]);
        }
        _ip.Run("ip", ["link", "set", "dev", bridge, "up"]);
        _ip.Run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
        _ip.Run("nft", ["-f", "-"], Rules());
        if (Spec.Mode == NetworkMode.Overlay)
            SetPeers(peers ?? []);
        SetLeases(leases);
        StartDnsmasq();
    }

    /// <summary>Replaces the static leases (MAC -> IP) and has dnsmasq read them again.</summary>
    public void SetLeases(IReadOnlyDictionary<string, string> leases)
    {
        if (Spec.Mode == NetworkMode.Bridge)
            return;
        var text = new StringBuilder();
        foreach (var (mac, ip) in leases.OrderBy(l => l.Key, StringComparer.Ordinal))
            text.Append(mac.ToLowerInvariant()).Append(',').Append(ip).Append('\n');
        var temp = HostsFile + ".new";
        File.WriteAllText(temp, text.ToString());
        File.Move(temp, HostsFile, overwrite: true);
        if (_dnsmasq is { HasExited: false } d)
            _ip.TryRun("kill", ["-HUP", d.Id.ToString()]);
    }

    /// <summary>Overlay: the other hosts' underlay addresses (flooding entries on the VXLAN device and the accepted VXLAN sources).</summary>
    public void SetPeers(IReadOnlyList<string> peers)
    {
        var vx = Spec.VxlanName;
        var fdb = _ip.Run("bridge", ["fdb", "show", "dev", vx]);
        var existing = fdb.Split('\n').Where(l => l.StartsWith("00:00:00:00:00:00 ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')).Select(p => p[Array.IndexOf(p, "dst") + 1]).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in existing.Except(peers))
            _ip.TryRun("bridge", ["fdb", "del", "00:00:00:00:00:00", "dev", vx, "dst", gone]);
        foreach (var peer in peers.Except(existing))
            _ip.Run("bridge", ["fdb", "append", "00:00:00:00:00:00", "dev", vx, "dst", peer]);
        _ip.Run("nft", ["-f", "-"], $"flush set inet {Spec.TableName} peers\n" +
            (peers.Count == 0 ? "" : $"add element inet {Spec.TableName} peers {{ {string.Join(", ", peers)} }}\n"));
    }

    /// <summary>Takes the network off this host: dnsmasq stopped, rules, VXLAN device and bridge deleted (a bridge network's bridge is the host's and stays).</summary>
    public void Remove()
    {
        if (Spec.Mode == NetworkMode.Bridge)
            return;
        StopDnsmasq();
        _ip.TryRun("nft", ["delete", "table", "inet", Spec.TableName]);
        _ip.TryRun("nft", ["delete", "table", "bridge", Spec.TableName]);
        if (Spec.Mode == NetworkMode.Overlay)
            _ip.TryRun("ip", ["link", "del", Spec.VxlanName]);
        _ip.TryRun("ip", ["link", "del", Spec.BridgeName]);
        if (Directory.Exists(_state))
            Directory.Delete(_state, recursive: true);
    }

    /// <summary>Whether dnsmasq serves this network now.</summary>
    public bool Serving => _dnsmasq is { HasExited: false };

    private bool Exists(string link) => _ip.TryRun("ip", ["link", "show", "dev", link]).Exit == 0;

    /// <summary>The network's nftables tables, replaced whole (the first two lines make the replace atomic and idempotent).</summary>
    private string Rules()
    {
        var t = Spec.TableName;
        var subnet = Spec.Subnet!;
        var s = new StringBuilder();
        s.Append($"table inet {t} {{}}\ndelete table inet {t}\ntable inet {t} {{\n");
        if (Spec.Mode == NetworkMode.Nat)
        {
            s.Append($"  chain postrouting {{ type nat hook postrouting priority srcnat; policy accept;\n");
            s.Append($"    ip saddr {subnet} ip daddr != {subnet} masquerade\n  }}\n");
        }
        else
        {
            s.Append("  set peers { type ipv4_addr; }\n");
            s.Append("  chain input { type filter hook input priority filter; policy accept;\n");
            s.Append($"    udp dport {HostNetworkSpec.VxlanPort} ip saddr != @peers counter drop\n  }}\n");
        }
        s.Append("}\n");
        if (Spec.Mode == NetworkMode.Overlay)
        {
            // Every host is the gateway and the DHCP server of its own VMs: neither crosses the VXLAN device.
            var vx = Spec.VxlanName;
            s.Append($"table bridge {t} {{}}\ndelete table bridge {t}\ntable bridge {t} {{\n");
            s.Append("  chain forward { type filter hook forward priority filter; policy accept;\n");
            s.Append($"    oifname \"{vx}\" udp dport {{ 67, 68 }} drop\n    iifname \"{vx}\" udp dport {{ 67, 68 }} drop\n");
            s.Append($"    oifname \"{vx}\" arp daddr ip {subnet.Gateway} drop\n    iifname \"{vx}\" arp saddr ip {subnet.Gateway} drop\n  }}\n");
            s.Append("  chain output { type filter hook output priority filter; policy accept;\n");
            s.Append($"    oifname \"{vx}\" udp sport 67 drop\n    oifname \"{vx}\" arp saddr ip {subnet.Gateway} drop\n  }}\n}}\n");
        }
        return s.ToString();
    }

    private void StartDnsmasq()
    {
        if (Serving)
            return;
        var subnet = Spec.Subnet!;
        var mask = $"{subnet.Mask >> 24}.{(subnet.Mask >> 16) & 255}.{(subnet.Mask >> 8) & 255}.{subnet.Mask & 255}";
        var network = subnet.ToString()[..subnet.ToString().IndexOf('/', StringComparison.Ordinal)];
        _dnsmasq = _ip.Start("dnsmasq",
        [
            "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--bind-interfaces", "--interface=" + Spec.BridgeName,
            "--except-interface=lo", $"--dhcp-range={network},static,{mask},1h", "--dhcp-hostsfile=" + HostsFile,
            "--dhcp-leasefile=" + Path.Combine(_state, "leases"), "--pid-file=" + Path.Combine(_state, "dnsmasq.pid"),
            "--dhcp-authoritative", $"--dhcp-option=option:router,{subnet.Gateway}", $"--dhcp-option=option:mtu,{Spec.GuestMtu}",
            "--log-facility=" + Path.Combine(_state, "dnsmasq.log"), "--quiet-dhcp",
        ]);
        // dnsmasq fails at once on a bad option or a busy port; give it a moment to say so.
        if (_dnsmasq.WaitForExit(300))
            throw new NetworkSetupException($"dnsmasq for network {Spec.Name} exited ({_dnsmasq.ExitCode}): {_dnsmasq.StandardError.ReadToEnd().Trim()}");
        // It prints nothing more on stderr (its log goes to the state directory), but keep the pipe drained.
        _dnsmasq.ErrorDataReceived += (_, _) => { };
        _dnsmasq.BeginErrorReadLine();
    }

    private void StopDnsmasq()
    {
        if (_dnsmasq is null)
            return;
        if (!_dnsmasq.HasExited)
        {
            _dnsmasq.Kill();
            _dnsmasq.WaitForExit(5000);
        }
        _dnsmasq.Dispose();
        _dnsmasq = null;
    }
}

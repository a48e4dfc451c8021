using System.Diagnostics;
using Cluster.Vmm.Networking;

namespace Cluster.Vmm.Tests.Networking;

/// <summary>
/// Network namespaces standing in for hosts, guests and the outside world, joined by veth pairs, all removed on dispose.
/// A "guest" is a namespace whose interface joins a host network's bridge (as a VM's tap would) and takes its address
/// with busybox's DHCP client.
/// </summary>
public sealed class NetnsRig : IDisposable
{
    private readonly string _prefix = "hn" + Guid.NewGuid().ToString("N")[..5];
    private readonly List<string> _namespaces = [];
    private readonly List<HostNetwork> _networks = [];

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("hostnet-").FullName;

    public NetnsRig() => Sh($"chmod 755 {Directory}"); // dnsmasq reads its files as nobody

    /// <summary>Creates namespace <paramref name="name"/> (prefixed, so parallel runs do not meet) with loopback up; returns its full name.</summary>
    public string Namespace(string name)
    {
        var full = $"{_prefix}{name}";
        Sh($"ip netns add {full} && ip -n {full} link set lo up");
        _namespaces.Add(full);
        return full;
    }

    /// <summary>A veth pair from <paramref name="a"/> (interface <paramref name="aName"/>) to <paramref name="b"/> (<paramref name="bName"/>), both up.</summary>
    public void Link(string a, string aName, string b, string bName, string? aAddress = null, string? bAddress = null)
    {
        Sh($"ip link add {aName} netns {a} type veth peer name {bName} netns {b}");
        Sh($"ip -n {a} link set {aName} up && ip -n {b} link set {bName} up");
        if (aAddress is not null)
            Sh($"ip -n {a} addr add {aAddress} dev {aName}");
        if (bAddress is not null)
            Sh($"ip -n {b} addr add {bAddress} dev {bName}");
    }

    /// <summary>Tracks <paramref name="network"/> so that it is removed on dispose.</summary>
    public HostNetwork Track(HostNetwork network)
    {
        _networks.Add(network);
        return network;
    }

    /// <summary>
    /// Makes namespace <paramref name="guest"/> a guest with MAC <paramref name="mac"/> on <paramref name="bridge"/> of host
    /// namespace <paramref name="host"/>, and runs busybox udhcpc in it; returns the address and MTU it was given.
    /// </summary>
    public (string Address, string Mtu) Guest(string guest, string mac, string host, string bridge)
    {
        var port = "p" + guest[^4..];
        Link(host, port, guest, "eth0");
        Sh($"ip -n {guest} link set eth0 down && ip -n {guest} link set eth0 address {mac} && ip -n {guest} link set eth0 up");
        Sh($"ip -n {host} link set {port} master {bridge}");
        var script = Path.Combine(Directory, "udhcpc-" + guest);
        var result = script + ".out";
        File.WriteAllText(script,
            "#!/bin/sh\n" +
            "[ \"$1\" = bound ] || [ \"$1\" = renew ] || exit 0\n" +
            "ip addr add \"$ip/$mask\" dev \"$interface\"\n" +
            "[ -n \"$mtu\" ] && ip link set dev \"$interface\" mtu \"$mtu\"\n" +
            "[ -n \"$router\" ] && ip route add default via \"$router\"\n" +
            $"echo \"$ip $mtu\" > {result}\n");
        Sh($"chmod 700 {script}");
        var (exit, output, error) = Run($"ip netns exec {guest} /bin/busybox udhcpc -i eth0 -f -q -n -t 8 -T 1 -O mtu -s {script}");
        if (exit != 0)
        {
            var logs = System.IO.Directory.GetFiles(Directory, "dnsmasq.log", SearchOption.AllDirectories).Select(f => $"{f}:\n{File.ReadAllText(f)}");
            throw new InvalidOperationException($"no DHCP lease for {guest} ({exit}): {error}{output}\n{string.Join("\n", logs)}");
        }
        var parts = File.ReadAllText(result).Trim().Split(' ');
        return (parts[0], parts.Length > 1 ? parts[1] : "");
    }

    /// <summary>Whether one ping from <paramref name="ns"/> to <paramref name="address"/> is answered within 2 s.</summary>
    public bool Ping(string ns, string address) => Try($"ip netns exec {ns} /bin/busybox ping -c 1 -W 2 {address}") == 0;

    public string Sh(string command)
    {
        var (exit, output, error) = Run(command);
        if (exit != 0)
            throw new InvalidOperationException($"'{command}' failed ({exit}): {error}{output}");
        return output;
    }

    public int Try(string command) => Run(command).Exit;

    public void Dispose()
    {
        foreach (var network in _networks)
        {
            try
            {
                network.Remove();
            }
            catch (NetworkSetupException)
            {
                // The namespaces go below anyway.
            }
        }
        foreach (var ns in _namespaces)
            Try($"ip netns del {ns}");
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static (int Exit, string Output, string Error) Run(string command)
    {
        var start = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, output.Result, error.Result);
    }
}

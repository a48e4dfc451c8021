using System.Diagnostics;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// Hosts on their own network: one network namespace per host, each with a veth pair whose outer end
/// is on a bridge in the root namespace (which also carries an address, so vmctl reaches every host).
/// <see cref="Isolate"/> takes a host's link down: a real partition between that host and the rest.
/// Needs root (CI runs as root). Disposing removes everything.
/// </summary>
public sealed class NetworkNamespaces : IDisposable
{
    private readonly string _tag = Guid.NewGuid().ToString("N")[..4];
    private readonly int _subnet = Random.Shared.Next(10, 250);
    private readonly int _count;

    public NetworkNamespaces(int count)
    {
        _count = count;
        Ip($"link add {Bridge} type bridge");
        Ip($"addr add 10.{_subnet}.77.254/24 dev {Bridge}");
        Ip($"link set {Bridge} up");
        for (var i = 0; i < count; i++)
        {
            Ip($"netns add {Namespace(i)}");
            Ip($"link add {Outer(i)} type veth peer name {Inner(i)}");
            Ip($"link set {Inner(i)} netns {Namespace(i)}");
            Ip($"link set {Outer(i)} master {Bridge}");
            Ip($"link set {Outer(i)} up");
            Ip($"-n {Namespace(i)} addr add {Address(i)}/24 dev {Inner(i)}");
            Ip($"-n {Namespace(i)} link set {Inner(i)} up");
            Ip($"-n {Namespace(i)} link set lo up");
        }
    }

    private string Bridge => $"hvbr{_tag}";

    public string Namespace(int i) => $"hvns{_tag}{i}";

    private string Outer(int i) => $"hvo{_tag}{i}";

    private string Inner(int i) => $"hvi{_tag}{i}";

    /// <summary>The address of host <paramref name="i"/>.</summary>
    public string Address(int i) => $"10.{_subnet}.77.{i + 1}";

    /// <summary>Wraps a process start so it runs inside host <paramref name="i"/>'s namespace.</summary>
    public ProcessStartInfo Inside(int i, ProcessStartInfo info)
    {
        var wrapped = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["netns", "exec", Namespace(i), info.FileName, .. info.ArgumentList])
            wrapped.ArgumentList.Add(a);
        return wrapped;
    }

    /// <summary>Runs nftables script <paramref name="script"/> in host <paramref name="i"/>'s namespace.</summary>
    public void Nft(int i, string script) => Nft(Namespace(i), script);

    /// <summary>Runs nftables script <paramref name="script"/> in network namespace <paramref name="netns"/>.</summary>
    public static void Nft(string netns, string script)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["netns", "exec", netns, "nft", "-f", "-"])
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.StandardInput.Write(script);
        process.StandardInput.Close();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"nft in namespace {netns} failed: {error} ({script})");
    }

    /// <summary>Cuts host <paramref name="i"/> off from every other host (and from the root namespace).</summary>
    public void Isolate(int i) => Ip($"link set {Outer(i)} down");

    /// <summary>Joins host <paramref name="i"/> to the others again after <see cref="Isolate"/>.</summary>
    public void Heal(int i) => Ip($"link set {Outer(i)} up");

    public void Dispose()
    {
        for (var i = 0; i < _count; i++)
            Ip($"netns del {Namespace(i)}", check: false);
        Ip($"link del {Bridge}", check: false);
    }

    private static void Ip(string args, bool check = true)
    {
        using var process = Process.Start(new ProcessStartInfo("ip", args) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (check && process.ExitCode != 0)
            throw new InvalidOperationException($"ip {args} failed: {error}");
    }
}

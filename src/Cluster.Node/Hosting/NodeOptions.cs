using System.Globalization;
using Cluster.Actors.Persistence;
using Cluster.Contracts.Validation;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Hosting;

/// <summary>The arguments of <c>cluster-node run</c>.</summary>
/// <param name="ConfigFile">An extra HOCON file layered over the shipped ones, or null.</param>
/// <param name="Port">The Akka.Remote port on 127.0.0.1.</param>
/// <param name="DataDirectory">Journal and snapshots live here.</param>
/// <param name="Backend">The CPU backend.</param>
/// <param name="Cluster">Cluster mode (membership, sharding, placement, HA), or null for a standalone node.</param>
/// <param name="Hostname">The loopback address Akka.Remote binds (127.0.0.1 unless told).</param>
/// <param name="Http">ADDR:PORT of the HTTP JSON API, or null for none.</param>
public sealed record NodeOptions(
    string? ConfigFile, int Port, string DataDirectory, BackendKind Backend, ClusterOptions? Cluster = null, string Hostname = "127.0.0.1",
    string? Http = null)
{
    private static readonly IReadOnlySet<string> Names = new HashSet<string>
    {
        "--config", "--port", "--data", "--backend", "--host", "--seed", "--roles", "--journal", "--postgres", "--label",
        "--vcpus", "--memory", "--run-log", "--http", "--rebalance",
    };

    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 4053;

    /// <summary>The usage text.</summary>
    public const string Usage =
        """
        usage: cluster-node run [--config FILE] [--host ADDR] [--port N] [--data DIR] [--backend auto|emulated|kvm] [--http ADDR:PORT]
                                [--seed HOST:PORT]... [--roles host,control] [--journal sqlite:PATH | --postgres CONNSTR]
                                [--label KEY=VALUE]... [--vcpus N] [--memory SIZE] [--run-log FILE]
                                [--rebalance off|recommend|automatic]
          --config FILE   HOCON layered over hocon/base.conf and hocon/node.conf
          --host ADDR     the address Akka.Remote binds and advertises (default 127.0.0.1)
          --port N        Akka.Remote port (default 4053; 0 picks a free one)
          --data DIR      data directory: the SQLite journal (default ./data)
          --backend       emulated (default: the software CPU), kvm, or auto (KVM when /dev/kvm works, else the emulator)
          --http ADDR:PORT   serve the HTTP JSON API there (bind 127.0.0.1 unless the network is trusted)
        cluster mode (any --seed; hocon/cluster.conf):
          --seed HOST:PORT   a seed node (repeatable; list this node first to start a new cluster)
          --roles LIST       host (runs VMs), control (control plane only) or both (default host)
          --journal J        the shared journal: sqlite:PATH (nodes of one machine) or postgres:CONNSTR
          --postgres CONNSTR the same as --journal postgres:CONNSTR (hocon/postgres.conf)
          --label KEY=VALUE  a host label for placement (repeatable)
          --vcpus N, --memory SIZE   capacity offered to guests (default: the machine's)
          --run-log FILE     append "VM start|end MONOTONIC-NS" for every guest run interval
          --rebalance MODE   the rebalancer's mode until an operator sets one (hocon/rebalancer.conf: automatic)
        Prints "node ready at akka.tcp://hypervisor@127.0.0.1:PORT" once it accepts commands; stops on
        SIGINT or SIGTERM. Exit codes: 0 after a clean stop, 1 when it cannot start, 2 for bad arguments.
        """;

    /// <summary>Parses the arguments after "run"; null with <paramref name="error"/> set when they are bad.</summary>
    public static NodeOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        var options = new NodeOptions(null, DefaultPort, "data", BackendKind.Emulated);
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (!Names.Contains(name))
            {
                error = $"unknown argument '{name}'";
                return null;
            }
            if (i + 1 >= args.Count)
            {
                error = $"{name} needs a value";
                return null;
            }
            var value = args[++i];
            switch (name)
            {
                case "--config":
                    options = options with { ConfigFile = value };
                    break;
                case "--port":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
                    {
                        error = $"bad port '{value}'";
                        return null;
                    }
                    options = options with { Port = port };
                    break;
                case "--data":
                    options = options with { DataDirectory = value };
                    break;
                case "--host":
                    options = options with { Hostname = value };
                    break;
                case "--http":
                    if (!System.Net.IPEndPoint.TryParse(value, out var endpoint) || endpoint.Port == 0)
                    {
                        error = $"bad --http '{value}' (ADDR:PORT, for example 127.0.0.1:8080)";
                        return null;
                    }
                    options = options with { Http = value };
                    break;
                case "--backend":
                    BackendKind? backend = value switch
                    {
                        "auto" => BackendKind.Auto, "emulated" => BackendKind.Emulated, "kvm" => BackendKind.Kvm, _ => null,
                    };
                    if (backend is null)
                    {
                        error = $"unknown backend '{value}' (auto, emulated or kvm)";
                        return null;
                    }
                    options = options with { Backend = backend.Value };
                    break;
                default:
                    var cluster = ParseCluster(options.Cluster ?? ClusterOptions.Empty, name, value, out error);
                    if (cluster is null)
                        return null;
                    options = options with { Cluster = cluster };
                    break;
            }
        }
        if (options.Cluster is { Seeds.Count: 0 })
        {
            error = "cluster options need at least one --seed";
            return null;
        }
        return options;
    }

    private static ClusterOptions? ParseCluster(ClusterOptions c, string name, string value, out string? error)
    {
        error = null;
        switch (name)
        {
            case "--seed":
                return c with { Seeds = [.. c.Seeds, value] };
            case "--roles":
                var roles = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (roles.Length == 0 || roles.Any(r => r is not ("host" or "control")))
                {
                    error = $"bad roles '{value}' (host, control or host,control)";
                    return null;
                }
                return c with { Roles = roles };
            case "--journal":
            case "--postgres":
                var journal = JournalLocation.Parse(name == "--postgres" ? $"postgres:{value}" : value, out error);
                return journal is null ? null : c with { Journal = journal };
            case "--label":
                var eq = value.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    error = $"bad label '{value}' (KEY=VALUE)";
                    return null;
                }
                return c with { Labels = new Dictionary<string, string>(c.Labels) { [value[..eq]] = value[(eq + 1)..] } };
            case "--vcpus":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var vcpus) || vcpus < 1)
                {
                    error = $"bad vCPU count '{value}'";
                    return null;
                }
                return c with { Vcpus = vcpus };
            case "--memory":
                if (!SizeText.TryParse(value, out var bytes) || bytes == 0)
                {
                    error = $"bad memory size '{value}'";
                    return null;
                }
                return c with { MemoryBytes = bytes };
            case "--rebalance":
                if (value is not ("off" or "recommend" or "automatic"))
                {
                    error = $"bad rebalance mode '{value}' (off, recommend or automatic)";
                    return null;
                }
                return c with { Rebalance = value };
            default:
                return c with { RunLog = value };
        }
    }
}

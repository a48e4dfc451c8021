using System.Globalization;
using Cluster.Actors.Persistence;
using Cluster.Contracts.Validation;
using Cluster.Node.Cli;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Hosting;

/// <summary>The arguments of <c>cluster-node run</c>.</summary>
/// <param name="ConfigFile">An extra HOCON file layered over the shipped ones, or null.</param>
/// <param name="Port">The Akka.Remote port on 127.0.0.1.</param>
/// <param name="DataDirectory">Journal and snapshots live here.</param>
/// <param name="Backend">The CPU backend.</param>
/// <param name="Cluster">Cluster mode (membership, sharding, placement, HA), or null for a standalone node.</param>
/// <param name="Hostname">The loopback address Akka.Remote binds (127.0.0.1 unless told).</param>
/// <param name="Http">ADDR:PORT of the HTTP JSON API (HTTPS), or null for none.</param>
/// <param name="HttpCertificate">The API's certificate and key (PEM files), or null for the data directory's self-signed one.</param>
/// <param name="CaDirectory">The cluster CA directory (ca.crt, revoked), or null for the data directory's own CA.</param>
/// <param name="CertificateFile">This node's certificate (its key beside it), or null for DATA/tls/node.crt.</param>
/// <param name="LogFormat">text or json (<see cref="Logs.NodeLogging"/>), or null for the configuration's.</param>
public sealed record NodeOptions(
    string? ConfigFile, int Port, string DataDirectory, BackendKind Backend, ClusterOptions? Cluster = null, string Hostname = "127.0.0.1",
    string? Http = null, (string Certificate, string Key)? HttpCertificate = null, string? CaDirectory = null, string? CertificateFile = null,
    string? LogFormat = null)
{
    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 4053;

    /// <summary>The <c>run</c> command: its options, help and handler.</summary>
    public static CliCommand Command() => new CliCommand("run", "host a node: its VMs, and in cluster mode its share of the cluster")
    {
        Handler = (args, io) => From(args, out var error) is { } options ? NodeCommand.Run(options, io)
            : NodeCli.UsageError(["run"], io, error!),
        UsageExitCode = 2,
    }
        .With(
            CliCommand.Value("--config", "FILE", "HOCON layered over hocon/base.conf and hocon/node.conf"),
            CliCommand.Value("--host", "ADDR", "the address Akka.Remote binds and advertises (default 127.0.0.1)"),
            CliCommand.Value("--port", "N", $"Akka.Remote port (default {DefaultPort}; 0 picks a free one)"),
            CliCommand.Value("--data", "DIR", "data directory: the SQLite journal, TLS files, the admin token (default ./data)"),
            CliCommand.Value("--backend", "auto|emulated|kvm", "emulated (default: the software CPU), kvm, or auto (KVM when /dev/kvm works, else the emulator)"),
            CliCommand.Value("--log-format", "text|json", "text (default) or json: one JSON object per line (timestamp, level, logger, message, vm, migration); config key cluster-hypervisor.log-format"),
            CliCommand.Value("--http", "ADDR:PORT", "serve the HTTP JSON API and the dashboard there over HTTPS (every /api request needs a bearer token)"),
            CliCommand.Value("--http-cert", "PATH", "the API's certificate (PEM), with --http-key; default: a self-signed one made in DATA/http-cert.pem on first start"),
            CliCommand.Value("--http-key", "PATH", "the API certificate's key (PEM), with --http-cert"),
            CliCommand.Value("--ca", "DIR", "the cluster CA directory (ca.crt, revoked; with ca.key the node issues its own certificate); default DATA/tls, created on first start"),
            CliCommand.Value("--cert", "FILE", "this node's certificate, its key in the same name ending .key (default DATA/tls/node.crt)"),
            CliCommand.Repeated("--seed", "HOST:PORT", "cluster mode: a seed node (repeatable; list this node first to start a new cluster)"),
            CliCommand.Value("--roles", "LIST", "cluster mode: host (runs VMs), control (control plane only) or host,control (default host)"),
            CliCommand.Value("--journal", "J", "cluster mode: the shared journal, sqlite:PATH (nodes of one machine) or postgres:CONNSTR"),
            CliCommand.Value("--postgres", "CONNSTR", "the same as --journal postgres:CONNSTR"),
            CliCommand.Repeated("--label", "KEY=VALUE", "cluster mode: a host label for placement (repeatable)"),
            CliCommand.Value("--vcpus", "N", "cluster mode: vCPUs offered to guests (default: the machine's)"),
            CliCommand.Value("--memory", "SIZE", "cluster mode: memory offered to guests, e.g. 16G (default: the machine's)"),
            CliCommand.Value("--run-log", "FILE", "cluster mode: append \"VM start|end MONOTONIC-NS\" for every guest run interval"),
            CliCommand.Value("--rebalance", "off|recommend|automatic", "cluster mode: the rebalancer's mode until an operator sets one (default automatic)"))
        .Example(
            "cluster-node run --data /var/lib/node1 --http 127.0.0.1:8443        # one machine, dashboard at https://127.0.0.1:8443/",
            "cluster-node run --host 10.0.0.1 --seed 10.0.0.1:4053 --postgres 'Host=10.0.0.9;Username=ch;Database=ch' --ca /etc/ch/ca")
        .Note("""
            Akka.Remote runs over mutual TLS; peers must hold a certificate from the cluster CA ('cluster-node ca --help'). Any --seed
            turns on cluster mode (membership, sharding, placement, HA; hocon/cluster.conf).
            """)
        .Note("""
            Prints "node ready at akka.ssl.tcp://hypervisor@HOST:PORT" once it accepts commands; stops on SIGINT or SIGTERM.
            Exit codes: 0 after a clean stop, 1 when it cannot start, 2 for bad arguments.
            """);

    /// <summary>Parses the arguments after "run"; null with <paramref name="error"/> set when they are bad.</summary>
    public static NodeOptions? Parse(IReadOnlyList<string> args, out string? error) =>
        NodeCli.Parse(["run"], args, out error) is { } parsed ? From(parsed, out error) : null;

    /// <summary>The options of a parsed <c>run</c> command line; null with <paramref name="error"/> when its values are bad.</summary>
    public static NodeOptions? From(CliArgs args, out string? error)
    {
        var options = new NodeOptions(args.Get("--config"), DefaultPort, args.Get("--data") ?? "data", BackendKind.Emulated);
        error = null;
        if (args.Get("--port") is { } portText)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                error = $"bad port '{portText}'";
                return null;
            }
            options = options with { Port = port };
        }
        if (args.Get("--host") is { } host)
            options = options with { Hostname = host };
        options = options with { CaDirectory = args.Get("--ca"), CertificateFile = args.Get("--cert") };
        if (args.Get("--http") is { } http)
        {
            if (!System.Net.IPEndPoint.TryParse(http, out var endpoint) || endpoint.Port == 0)
            {
                error = $"bad --http '{http}' (ADDR:PORT, for example 127.0.0.1:8080)";
                return null;
            }
            options = options with { Http = http };
        }
        if (args.Has("--http-cert") || args.Has("--http-key"))
        {
            if (args.Get("--http-cert") is not { } certificate || args.Get("--http-key") is not { } key || options.Http is null)
            {
                error = "--http-cert and --http-key go together, with --http";
                return null;
            }
            options = options with { HttpCertificate = (certificate, key) };
        }
        if (args.Get("--log-format") is { } format)
        {
            if (!Logs.NodeLogging.Formats.Contains(format))
            {
                error = $"bad --log-format '{format}' (text or json)";
                return null;
            }
            options = options with { LogFormat = format };
        }
        if (args.Get("--backend") is { } backendText)
        {
            if (ParseBackend(backendText) is not { } backend)
            {
                error = $"unknown backend '{backendText}' (auto, emulated or kvm)";
                return null;
            }
            options = options with { Backend = backend };
        }
        string[] clusterOptions = ["--seed", "--roles", "--journal", "--postgres", "--label", "--vcpus", "--memory", "--run-log", "--rebalance"];
        foreach (var name in clusterOptions)
        {
            foreach (var value in args.All(name))
            {
                var cluster = ParseCluster(options.Cluster ?? ClusterOptions.Empty, name, value, out error);
                if (cluster is null)
                    return null;
                options = options with { Cluster = cluster };
            }
        }
        if (options.Cluster is { Seeds.Count: 0 })
        {
            error = "cluster options need at least one --seed";
            return null;
        }
        return options;
    }

    /// <summary>auto, emulated or kvm; null for anything else.</summary>
    public static BackendKind? ParseBackend(string text) => text switch
    {
        "auto" => BackendKind.Auto, "emulated" => BackendKind.Emulated, "kvm" => BackendKind.Kvm, _ => null,
    };

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
                if (!SizeText.TryParse(value, out var bytes, out var why) || bytes == 0)
                {
                    error = $"bad memory size '{value}': {why ?? "0 bytes"}";
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

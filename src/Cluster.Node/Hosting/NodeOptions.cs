using System.Globalization;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Hosting;

/// <summary>The arguments of <c>cluster-node run</c>.</summary>
/// <param name="ConfigFile">An extra HOCON file layered over the shipped ones, or null.</param>
/// <param name="Port">The Akka.Remote port on 127.0.0.1.</param>
/// <param name="DataDirectory">Journal and snapshots live here.</param>
/// <param name="Backend">The CPU backend.</param>
public sealed record NodeOptions(string? ConfigFile, int Port, string DataDirectory, BackendKind Backend)
{
    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 4053;

    /// <summary>The usage text.</summary>
    public const string Usage =
        """
        usage: cluster-node run [--config FILE] [--port N] [--data DIR] [--backend auto|emulated|kvm]
          --config FILE   HOCON layered over hocon/base.conf and hocon/node.conf
          --port N        Akka.Remote port on 127.0.0.1 (default 4053; 0 picks a free one)
          --data DIR      data directory: the SQLite journal (default ./data)
          --backend       emulated (default: the software CPU), kvm, or auto (KVM when /dev/kvm works, else the emulator)
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
            if (name is not ("--config" or "--port" or "--data" or "--backend"))
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
                default:
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
            }
        }
        return options;
    }
}

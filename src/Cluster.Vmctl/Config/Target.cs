using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Client;

namespace Cluster.Vmctl.Config;

/// <summary>
/// Where a command goes and with which token, from the flags, the environment and the chosen context, first match wins:
/// server <c>--server</c>, <c>$VMCTL_SERVER</c>, the context's (unless <c>--node</c> or <c>$VMCTL_NODE</c> asks for
/// remoting); CA file <c>--cacert</c>, <c>$VMCTL_CACERT</c>, the context's, <c>DATA/http-cert.pem</c>; token <c>--token</c>,
/// <c>$CLUSTER_TOKEN</c>, <c>$VMCTL_TOKEN</c>, <c>--token-file</c>, the context's token or token file, <c>DATA/admin.token</c>.
/// The context is <c>--context</c>, else <c>$VMCTL_CONTEXT</c>, else the config file's current one.
/// </summary>
public sealed record Target(string? Server, string Node, string? CaFile, string Token)
{
    /// <summary>The environment variable with the HTTPS API's address.</summary>
    public const string ServerVariable = "VMCTL_SERVER";

    /// <summary>The default remoting address.</summary>
    public const string DefaultNode = "127.0.0.1:4053";

    /// <summary>The target, or null with <paramref name="error"/> (an unknown context, a bad config file, no token).</summary>
    public static Target? Resolve(CommandLine line, Func<string, string?> environment, out string? error)
    {
        var context = ChosenContext(line.Get("--context"), environment, out error);
        if (error is not null)
            return null;
        var nodeAsked = line.Get("--node") ?? environment("VMCTL_NODE");
        var server = line.Get("--server") ?? NonEmpty(environment(ServerVariable)) ?? (nodeAsked is null ? context?.Server : null);
        var caFile = line.Get("--cacert") ?? NonEmpty(environment("VMCTL_CACERT")) ?? context?.CaCert;
        var local = Path.Combine(line.Get("--data") ?? "data", "http-cert.pem");
        if (caFile is null && File.Exists(local))
            caFile = local;
        var token = TokenSource.Find(line.Get("--token"), line.Get("--token-file"), line.Get("--data"), environment, out error,
            context?.Token, context?.TokenFile);
        return token is null ? null : new Target(server, nodeAsked ?? DefaultNode, caFile, token);
    }

    /// <summary>The context to use, or null when none is named and the file has no current one; an error for a name
    /// the file does not hold.</summary>
    public static VmctlContext? ChosenContext(string? named, Func<string, string?> environment, out string? error)
    {
        error = null;
        var file = VmctlConfig.PathFrom(environment);
        VmctlConfig config;
        try
        {
            config = VmctlConfig.Load(file);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
        var name = named ?? NonEmpty(environment(VmctlConfig.ContextVariable)) ?? config.CurrentContext;
        if (name is null)
            return null;
        var context = config.Find(name);
        if (context is null)
            error = $"no context '{name}' in {file}{(config.Contexts.Count == 0 ? "" : $" (it has {string.Join(", ", config.Contexts.Select(c => c.Name))})")}; "
                    + "add it with 'vmctl config set-context NAME --server URL'";
        return context;
    }

    private static string? NonEmpty(string? value) => value is { Length: > 0 } ? value : null;
}

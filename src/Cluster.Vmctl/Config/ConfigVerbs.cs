using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Config;

/// <summary><c>vmctl config set-context|use-context|get-contexts|current-context|delete-context</c>: edits and reads
/// <see cref="VmctlConfig"/>'s file; never reaches a node.</summary>
public static class ConfigVerbs
{
    private const string Syntax =
        "'config' takes 'set-context NAME [--server URL] [--cacert FILE] [--token-file FILE | --token TOKEN]', 'use-context NAME', " +
        "'get-contexts', 'current-context' or 'delete-context NAME'";

    /// <summary>Runs one config verb; usage exit code for a bad line or an unknown context.</summary>
    public static int Run(CommandLine line, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        if (line.UnknownOptions.Count > 0)
            return VmctlApp.UsageError(stderr, $"'{line.Path}' does not take {line.UnknownOptions[0]}", line.Path);
        var file = VmctlConfig.PathFrom(environment);
        VmctlConfig config;
        try
        {
            config = VmctlConfig.Load(file);
        }
        catch (FormatException e)
        {
            return VmctlApp.UsageError(stderr, e.Message, line.Path);
        }
        try
        {
            return Run(line, config, file, stdout, stderr);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"vmctl: cannot write {file}: {e.Message}");
            return ExitCodes.Refused;
        }
    }

    private static int Run(CommandLine line, VmctlConfig config, string file, TextWriter stdout, TextWriter stderr)
    {
        switch (line.Positional)
        {
            case ["set-context", var name]:
                return SetContext(line, config, file, name, stdout, stderr);
            case ["use-context", var name] when config.Find(name) is not null:
                (config with { CurrentContext = name }).Save(file);
                stdout.WriteLine($"current context: {name}");
                return ExitCodes.Ok;
            case ["delete-context", var name] when config.Find(name) is not null:
                new VmctlConfig(config.CurrentContext == name ? null : config.CurrentContext, [.. config.Contexts.Where(c => c.Name != name)]).Save(file);
                stdout.WriteLine($"context {name}: deleted");
                return ExitCodes.Ok;
            case ["use-context" or "delete-context", var name]:
                return VmctlApp.UsageError(stderr, $"no context '{name}' in {file}" +
                    (config.Contexts.Count == 0 ? "" : $" (it has {string.Join(", ", config.Contexts.Select(c => c.Name))})"), line.Path);
            case ["get-contexts"]:
                return GetContexts(line, config, stdout, stderr);
            case ["current-context"]:
                if (config.CurrentContext is null)
                {
                    stderr.WriteLine($"vmctl: no current context in {file} ('vmctl config use-context NAME' sets one)");
                    return ExitCodes.Refused;
                }
                stdout.WriteLine(config.CurrentContext);
                return ExitCodes.Ok;
            default:
                return VmctlApp.UsageError(stderr, Syntax, line.Path);
        }
    }

    private static int SetContext(CommandLine line, VmctlConfig config, string file, string name, TextWriter stdout, TextWriter stderr)
    {
        var old = config.Find(name);
        var server = line.Get("--server") ?? old?.Server;
        if (server is null)
            return VmctlApp.UsageError(stderr, $"a new context needs --server https://HOST:PORT", line.Path);
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.AbsolutePath != "/")
            return VmctlApp.UsageError(stderr, $"bad --server '{server}' (an https://HOST:PORT address of a node's API)", line.Path);
        if (line.Has("--token") && line.Has("--token-file"))
            return VmctlApp.UsageError(stderr, "give --token or --token-file, not both", line.Path);
        if (line.Get("--token") is { } token && Contracts.Access.TokenText.IdOf(token) is null)
            return VmctlApp.UsageError(stderr, "the token from --token is malformed (tokens look like cht_ID_SECRET)", line.Path);
        var context = new VmctlContext(name, server,
            line.Get("--cacert") is { } ca ? Path.GetFullPath(ca) : old?.CaCert,
            line.Get("--token-file") is { } tf ? Path.GetFullPath(tf) : line.Has("--token") ? null : old?.TokenFile,
            line.Get("--token") ?? (line.Has("--token-file") ? null : old?.Token));
        var contexts = config.Contexts.Where(c => c.Name != name).Append(context).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        new VmctlConfig(config.CurrentContext ?? name, contexts).Save(file);
        stdout.WriteLine($"context {name}: {(old is null ? "added" : "changed")}{(config.CurrentContext is null ? " (and current)" : "")}");
        return ExitCodes.Ok;
    }

    private static int GetContexts(CommandLine line, VmctlConfig config, TextWriter stdout, TextWriter stderr)
    {
        var format = line.Has("--json") ? OutputFormat.Json : OutputFormats.Parse(line.Get("--output") ?? "table");
        if (format is null)
            return VmctlApp.UsageError(stderr, $"bad --output '{line.Get("--output")}' (table, wide, json or yaml)", line.Path);
        var printer = new Printer(stdout, format.Value, line.Has("--no-headers"));
        if (printer.Structured)
            printer.WriteData(config.Contexts.Select(c => new ContextRow(c.Name, c.Name == config.CurrentContext, c.Server, c.CaCert, c.TokenFile,
                c.Token is null ? null : "(in the file)")).ToList());
        else
            printer.Table(["CURRENT", "NAME", "SERVER", "CACERT", "TOKEN"], config.Contexts.Select(c => (IReadOnlyList<string>)
                [c.Name == config.CurrentContext ? "*" : "", c.Name, c.Server ?? "", c.CaCert ?? "", c.TokenFile ?? (c.Token is null ? "" : "(in the file)")]));
        return ExitCodes.Ok;
    }
}

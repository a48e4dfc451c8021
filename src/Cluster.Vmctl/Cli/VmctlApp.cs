using System.Globalization;
using System.Text;
using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli;

/// <summary>The vmctl program: parses the command line, sends one contract message, prints the reply.</summary>
public static class VmctlApp
{
    private static readonly IReadOnlySet<string> GlobalOptions = new HashSet<string> { "--node", "--timeout", "--json", "--help" };

    /// <summary>Runs vmctl; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var line = CommandLine.Parse(args, out var error);
        if (line is null || line.Verb == "help")
            return UsageError(stderr, line is null ? error : null, line is null ? ExitCodes.Usage : ExitCodes.Ok);
        var allowed = Allowed(line.Verb);
        if (allowed is null)
            return UsageError(stderr, $"unknown command '{line.Verb}'", ExitCodes.Usage);
        if (line.OptionNames.FirstOrDefault(o => !allowed.Contains(o) && !GlobalOptions.Contains(o)) is { } bad)
            return UsageError(stderr, $"'{line.Verb}' does not take {bad}", ExitCodes.Usage);
        var wantsId = line.Verb is not ("list" or "nodes");
        if (line.Positional.Count != (wantsId ? 1 : 0))
            return UsageError(stderr, wantsId ? $"'{line.Verb}' needs exactly one {(line.Verb == "leave" ? "host (HOST:PORT)" : "VM id")}"
                : $"'{line.Verb}' takes no arguments", ExitCodes.Usage);
        if (!double.TryParse(line.Get("--timeout") ?? "5", NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            return UsageError(stderr, "bad --timeout", ExitCodes.Usage);
        var id = wantsId ? line.Positional[0] : "";
        object? request = BuildRequest(line, id, out error);
        if (error is not null)
            return UsageError(stderr, error, ExitCodes.Usage);

        var printer = new Printer(stdout, line.Has("--json"));
        var node = line.Get("--node") ?? Environment.GetEnvironmentVariable("VMCTL_NODE") ?? "127.0.0.1:4053";
        try
        {
            await using var client = await NodeClient.ConnectAsync(node, TimeSpan.FromSeconds(seconds));
            if (line.Verb == "console" && line.Has("--follow"))
                return await ConsoleFollower.RunAsync(client, id, line.Get("--seconds"), printer, stderr);
            var reply = await client.AskAsync(request!);
            if (line.Verb == "create" && line.Has("--start") && reply is VmCommandAccepted or VmCreated)
            {
                var started = await client.AskAsync(new StartVm(id));
                reply = reply is VmCreated created && started is VmCommandAccepted ok ? created with { Status = ok.Status } : started;
            }
            return Replies.Print(reply, printer, stderr);
        }
        catch (NodeUnreachableException e)
        {
            stderr.WriteLine($"vmctl: {e.Message}");
            return ExitCodes.Unreachable;
        }
    }

    private static IReadOnlySet<string>? Allowed(string verb) => verb switch
    {
        "create" => SpecOptions.Names,
        "stop" => new HashSet<string> { "--force" },
        "console" => new HashSet<string> { "--bytes", "--follow", "--seconds", "--input" },
        "start" or "pause" or "resume" or "delete" or "list" or "show" or "events" or "nodes" or "leave" => new HashSet<string>(),
        _ => null,
    };

    private static object? BuildRequest(CommandLine line, string id, out string? error)
    {
        error = null;
        switch (line.Verb)
        {
            case "create":
                var spec = SpecOptions.Parse(id, line, out error);
                return spec is null ? null : new CreateVm(spec);
            case "start": return new StartVm(id);
            case "pause": return new PauseVm(id);
            case "resume": return new ResumeVm(id);
            case "stop": return new StopVm(id, line.Has("--force") ? StopMode.Forced : StopMode.Graceful);
            case "delete": return new DeleteVm(id);
            case "list": return ListVms.Instance;
            case "nodes": return ListHosts.Instance;
            case "leave": return new LeaveHost(id);
            case "show": return new GetVm(id);
            case "events": return new GetVmEvents(id);
            default:
                if (line.Get("--input") is { } input)
                    return new ConsoleInput(id, Encoding.UTF8.GetBytes(Unescape(input)));
                if (!int.TryParse(line.Get("--bytes") ?? "4096", NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
                    error = "bad --bytes";
                return new ConsoleTail(id, bytes);
        }
    }

    private static string Unescape(string text) =>
        text.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal)
            .Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);

    private static int UsageError(TextWriter stderr, string? error, int code)
    {
        if (error is not null)
            stderr.WriteLine($"vmctl: {error}");
        stderr.WriteLine(Usage.Text);
        return code;
    }
}

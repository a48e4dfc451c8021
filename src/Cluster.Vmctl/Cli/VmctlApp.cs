using System.Globalization;
using System.Text;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Live;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli;

/// <summary>
/// The vmctl program: parses the command line, sends one contract message and prints the reply; the
/// live verbs (top, migrations --watch, migrate --wait, drain --wait) keep asking over the same connection.
/// </summary>
public static class VmctlApp
{
    private static readonly IReadOnlySet<string> GlobalOptions = new HashSet<string> { "--node", "--timeout", "--json", "--help" };

    /// <summary>Runs vmctl; returns the exit code (see <see cref="ExitCodes"/>). Live views use ANSI redraws when stdout is the console's terminal.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected);

    /// <summary>Runs vmctl; <paramref name="ansi"/> says whether live views may redraw with ANSI cursor control.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, bool ansi)
    {
        var line = CommandLine.Parse(args, out var error);
        if (line is null || line.Verb == "help")
            return UsageError(stderr, line is null ? error : null, line is null ? ExitCodes.Usage : ExitCodes.Ok);
        if (!TryPrepare(line, out var id, out var request, out error))
            return UsageError(stderr, error, ExitCodes.Usage);
        if (!double.TryParse(line.Get("--timeout") ?? "5", NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            return UsageError(stderr, "bad --timeout", ExitCodes.Usage);

        var printer = new Printer(stdout, line.Has("--json"));
        var node = line.Get("--node") ?? Environment.GetEnvironmentVariable("VMCTL_NODE") ?? "127.0.0.1:4053";
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var live = IsLive(line);
        if (live)
            Console.CancelKeyPress += onCancel;
        try
        {
            await using var client = await NodeClient.ConnectAsync(node, TimeSpan.FromSeconds(seconds));
            if (line.Verb == "console" && line.Has("--follow"))
                return await ConsoleFollower.RunAsync(client, id, line.Get("--seconds"), printer, stderr);
            var options = new LiveOptions(ansi, LiveOptions.DefaultInterval, line.Has("--once"));
            return await RunAsync(client, line, id, request, node, printer, stderr, options, cancel.Token);
        }
        catch (NodeUnreachableException e)
        {
            stderr.WriteLine($"vmctl: {e.Message}");
            return ExitCodes.Unreachable;
        }
        finally
        {
            if (live)
                Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>
    /// Checks a command line and builds its request (null for <c>top</c>, which asks several questions):
    /// false with <paramref name="error"/> for an unknown verb or option, wrong arguments or a bad value.
    /// </summary>
    public static bool TryPrepare(CommandLine line, out string id, out object? request, out string? error)
    {
        id = "";
        request = null;
        var allowed = Allowed(line.Verb);
        if (allowed is null)
        {
            error = $"unknown command '{line.Verb}'";
            return false;
        }
        if (line.OptionNames.FirstOrDefault(o => !allowed.Contains(o) && !GlobalOptions.Contains(o)) is { } bad)
        {
            error = $"'{line.Verb}' does not take {bad}";
            return false;
        }
        error = CheckArguments(line);
        if (error is not null)
            return false;
        id = line.Verb == "events" && line.Get("--vm") is { } vm ? vm : line.Positional.FirstOrDefault() ?? "";
        request = BuildRequest(line, id, out error);
        return error is null;
    }

    /// <summary>Carries out a prepared command over <paramref name="client"/> and prints the outcome.</summary>
    internal static async Task<int> RunAsync(
        IControlClient client, CommandLine line, string id, object? request, string node, Printer printer, TextWriter stderr,
        LiveOptions options, CancellationToken cancel)
    {
        switch (line.Verb)
        {
            case "top" or "watch":
                return await TopView.RunAsync(client, node, printer, options, () => DateTime.UtcNow, cancel);
            case "migrations" when line.Has("--watch"):
                return await MigrationsWatch.RunAsync(client, printer, options, cancel);
        }
        var reply = await client.AskAsync(request!);
        if (line.Verb == "create" && line.Has("--start") && reply is VmCommandAccepted or VmCreated)
        {
            var started = await client.AskAsync(new StartVm(id));
            reply = reply is VmCreated created && started is VmCommandAccepted ok ? created with { Status = ok.Status } : started;
        }
        if (!Answers(line.Verb, reply))
        {
            stderr.WriteLine($"vmctl: the node answered {reply.GetType().Name} to {request!.GetType().Name}; does it run live migration and the rebalancer?");
            return ExitCodes.Unexpected;
        }
        switch (reply)
        {
            case MigrationAccepted accepted when line.Has("--wait"):
                if (!printer.Json)
                    Replies.Print(reply, printer, stderr);
                return await MigrationFollower.RunAsync(client, accepted, printer, stderr, options, cancel);
            case DrainStarted drain when line.Has("--wait"):
                if (!printer.Json)
                    Replies.Print(reply, printer, stderr);
                return await DrainFollower.RunAsync(client, drain.Host, printer, stderr, options, cancel);
            default:
                return Replies.Print(reply, printer, stderr);
        }
    }

    /// <summary>Whether <paramref name="reply"/> answers the verb: its own reply or a refusal (verbs older than migration take any).</summary>
    private static bool Answers(string verb, object reply) => reply is NotAllowed or VmNotFound or HostNotFound or ValidationFailed || verb switch
    {
        "migrate" => reply is MigrationAccepted or MigrationCancelling,
        "migrations" => reply is MigrationList,
        "drain" => reply is DrainStarted,
        "undrain" => reply is HostUndrained,
        "rebalance" => reply is RebalanceStatus,
        _ => true,
    };

    private static bool IsLive(CommandLine line) =>
        line.Verb is "top" or "watch" || line.Has("--watch") || line.Has("--wait");

    private static IReadOnlySet<string>? Allowed(string verb) => verb switch
    {
        "create" => SpecOptions.Names,
        "stop" => new HashSet<string> { "--force" },
        "console" => new HashSet<string> { "--bytes", "--follow", "--seconds", "--input" },
        "migrate" => MigrateOptions.Names,
        "migrations" => new HashSet<string> { "--watch" },
        "drain" => new HashSet<string> { "--wait" },
        "events" => new HashSet<string> { "--vm" },
        "top" or "watch" => new HashSet<string> { "--once" },
        "start" or "pause" or "resume" or "delete" or "list" or "show" or "nodes" or "leave" or "undrain" or "rebalance" => new HashSet<string>(),
        _ => null,
    };

    private static string? CheckArguments(CommandLine line)
    {
        var count = line.Positional.Count;
        return line.Verb switch
        {
            "list" or "nodes" or "migrations" or "top" or "watch" => count == 0 ? null : $"'{line.Verb}' takes no arguments",
            "rebalance" => count == 0 || (count == 2 && line.Positional[0] == "mode") ? null
                : "'rebalance' takes no arguments (status) or 'mode off|recommend|automatic'",
            "leave" or "drain" or "undrain" => count == 1 ? null : $"'{line.Verb}' needs exactly one host (HOST:PORT)",
            "events" when line.Has("--vm") => count == 0 ? null : "give the VM either as 'events ID' or as 'events --vm ID', not both",
            "migrate" when line.Has("--cancel") => count != 1 ? "'migrate --cancel' needs exactly one VM id"
                : line.OptionNames.Any(o => MigrateOptions.Names.Contains(o) && o != "--cancel") ? "'migrate --cancel VM' takes no other migrate option"
                : null,
            _ => count == 1 ? null : $"'{line.Verb}' needs exactly one VM id",
        };
    }

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
            case "migrate": return line.Has("--cancel") ? new CancelMigration(id) : MigrateOptions.Parse(id, line, out error);
            case "migrations": return ListMigrations.Instance;
            case "drain": return new DrainHost(id);
            case "undrain": return new UndrainHost(id);
            case "top" or "watch": return null;
            case "rebalance" when line.Positional.Count == 0: return GetRebalanceStatus.Instance;
            case "rebalance":
                RebalanceMode? mode = line.Positional[1] switch
                {
                    "off" => RebalanceMode.Off, "recommend" => RebalanceMode.Recommend, "automatic" => RebalanceMode.Automatic, _ => null,
                };
                if (mode is null)
                    error = $"bad rebalance mode '{line.Positional[1]}' (off, recommend or automatic)";
                return mode is null ? null : new SetRebalanceMode(mode.Value);
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

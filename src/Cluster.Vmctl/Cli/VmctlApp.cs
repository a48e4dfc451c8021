using System.Globalization;
using System.Text;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;
using Cluster.Vmctl.Cli.Commands;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Config;
using Cluster.Vmctl.Live;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli;

/// <summary>
/// The vmctl program: parses the command line (<see cref="CommandTree"/>; help, <c>--version</c>, completion and config
/// are answered here), sends one contract message and prints the reply; the live verbs (top, migrations --watch,
/// migrate --wait, drain --wait) keep asking over the same connection, and apply asks twice (the VM, then create or update).
/// </summary>
public static class VmctlApp
{
    /// <summary>Runs vmctl; returns the exit code (see <see cref="ExitCodes"/>). Live views use ANSI redraws when stdout is the console's terminal.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected);

    /// <summary>Runs vmctl; <paramref name="ansi"/> says whether live views may redraw with ANSI cursor control.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, bool ansi)
    {
        if (args is [ClientVerbs.CompleteCommand, .. var words])
            return Completion.Completer.Run(words, stdout);
        var parsed = CommandTree.Root.Parse(args);
        if (parsed.Errors.Count == 0 && parsed.Action is { } action && !ReferenceEquals(action, CommandTree.Verb))
            return await parsed.InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = stdout, Error = stderr });
        var line = CommandLine.From(parsed, args, out var error);
        if (line is null)
        {
            if (error != CommandLine.NoCommand)
                return UsageError(stderr, error, "");
            HelpWriter.Write([], stderr);
            return ExitCodes.Usage;
        }
        if (LocalVerbs.Run(line, stdout, stderr, Environment.GetEnvironmentVariable) is { } local)
            return local;
        if (!TryPrepare(line, out var id, out var request, out error))
            return UsageError(stderr, error, line.Path);
        if (!double.TryParse(line.Get("--timeout") ?? "5", NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            return UsageError(stderr, "bad --timeout", line.Path);
        if (!TryFormat(line, out var format, out error))
            return UsageError(stderr, error, line.Path);
        var target = Target.Resolve(line, Environment.GetEnvironmentVariable, out error);
        if (target is null)
            return UsageError(stderr, error, line.Path);
        var printer = new Printer(stdout, format, line.Has("--no-headers"));
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
            if (target.Server is { Length: > 0 } server)
                return await OverHttpsAsync(server, target.CaFile, line, id, request, target.Token, TimeSpan.FromSeconds(seconds), printer, stderr, ansi, cancel.Token);
            if (line.Verb == "console" && line.Has("--interactive"))
                return UsageError(stderr, "console --interactive needs the node's HTTPS API (--server https://HOST:PORT)", line.Path);
            // The NativeAOT vmctl has no Akka.Remote client: the companion that has one carries out the command.
            if (!RemotingFeature.IsSupported)
                return RemoteCompanion.Exec(args, stderr);
            return await RemoteRunner.RunAsync(target.Node, target.Token, TimeSpan.FromSeconds(seconds), line, id, request, printer, stderr,
                new LiveOptions(ansi, LiveOptions.DefaultInterval, line.Has("--once")), cancel.Token);
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

    /// <summary>The output format of <c>-o</c> (or <c>--json</c>); false with <paramref name="error"/> for an unknown one.</summary>
    private static bool TryFormat(CommandLine line, out OutputFormat format, out string? error)
    {
        error = null;
        format = line.Has("--json") ? OutputFormat.Json : OutputFormat.Table;
        if (line.Get("--output") is not { } text)
            return true;
        if (OutputFormats.Parse(text) is not { } chosen)
            error = $"bad --output '{text}' (table, wide, json or yaml)";
        else if (line.Has("--json") && chosen != OutputFormat.Json)
            error = $"--json and -o {text} disagree: give one of them";
        else
            format = chosen;
        return error is null;
    }

    /// <summary>Carries out a prepared command over a node's HTTPS API (<c>--server https://HOST:PORT</c>), trusting
    /// <paramref name="caFile"/> alone when there is one (see <see cref="Target"/>), else the system's roots.</summary>
    private static async Task<int> OverHttpsAsync(string server, string? caFile, CommandLine line, string id, object? request, string token,
        TimeSpan timeout, Printer printer, TextWriter stderr, bool ansi, CancellationToken cancel)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.AbsolutePath != "/")
            return UsageError(stderr, $"bad --server '{server}' (an https://HOST:PORT address of a node's API)", line.Path);
        if (line.Verb == "console" && line.Has("--follow"))
            return UsageError(stderr, "console --follow needs the node's remoting address (--node HOST:PORT), not --server", line.Path);
        if (caFile is not null)
            SystemTrustStore.Skip(); // the CA file alone is trusted: the system's roots need not be read
        var trusted = caFile is null ? null : HttpsControlClient.LoadTrusted(caFile);
        if (line.Verb == "console" && line.Has("--interactive"))
            return await InteractiveConsole.RunAsync(uri, token, trusted, timeout, id, line.Get("--seconds"), stderr);
        using var client = new HttpsControlClient(uri, token, timeout, trusted);
        var options = new LiveOptions(ansi, LiveOptions.DefaultInterval, line.Has("--once"));
        return await RunAsync(client, line, id, request, uri.GetLeftPart(UriPartial.Authority), printer, stderr, options, cancel);
    }

    /// <summary>
    /// Checks a command line and builds its request (null for <c>top</c>, which asks several questions):
    /// false with <paramref name="error"/> for an unknown verb or option, wrong arguments or a bad value.
    /// </summary>
    public static bool TryPrepare(CommandLine line, out string id, out object? request, out string? error)
    {
        id = "";
        request = null;
        if (line.UnknownOptions.Count > 0)
        {
            error = $"'{line.Path}' does not take {line.UnknownOptions[0]}";
            return false;
        }
        error = CheckArguments(line);
        if (error is not null)
            return false;
        id = line.Verb == "events" && line.Get("--vm") is { } vm ? vm : line.Verb == "get" ? line.Positional[1] : line.Positional.FirstOrDefault() ?? "";
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
        if (request is Apply.ApplyRequest apply)
            return await Apply.ApplyRunner.RunAsync(client, apply, printer, stderr);
        var reply = await client.AskAsync(request!);
        if (line.Verb == "get" && reply is VmInfo info)
        {
            if (printer.Structured)
                printer.WriteData(Apply.SpecFile.ToDocument(info.Spec));
            else
                Replies.Print(new VmList([info]), printer, stderr);
            return ExitCodes.Ok;
        }
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
                if (!printer.Structured)
                    Replies.Print(reply, printer, stderr);
                return await MigrationFollower.RunAsync(client, accepted, printer, stderr, options, cancel);
            case DrainStarted drain when line.Has("--wait"):
                if (!printer.Structured)
                    Replies.Print(reply, printer, stderr);
                return await DrainFollower.RunAsync(client, drain.Host, printer, stderr, options, cancel);
            default:
                return Replies.Print(reply, printer, stderr);
        }
    }

    /// <summary>Whether <paramref name="reply"/> answers the verb: its own reply or a refusal (verbs older than migration take any).</summary>
    private static bool Answers(string verb, object reply) => reply is NotAllowed or VmNotFound or HostNotFound or ValidationFailed or AccessDenied || verb switch
    {
        "token" => reply is TokenCreated or TokenList or TokenRevocation or TokenNotFound,
        "audit" => reply is AuditList,
        "network" => reply is NetworkInfo or NetworkList or NetworkRemoved or NetworkNotFound or NetworkRefused,
        "migrate" => reply is MigrationAccepted or MigrationCancelling,
        "migrations" => reply is MigrationList,
        "drain" => reply is DrainStarted,
        "undrain" => reply is HostUndrained,
        "rebalance" => reply is RebalanceStatus,
        _ => true,
    };

    private static bool IsLive(CommandLine line) =>
        line.Verb is "top" or "watch" || line.Has("--watch") || line.Has("--wait");

    private static string? CheckArguments(CommandLine line)
    {
        var count = line.Positional.Count;
        return line.Verb switch
        {
            "list" or "nodes" or "migrations" or "top" or "watch" or "audit" => count == 0 ? null : $"'{line.Verb}' takes no arguments",
            "get" => count == 2 && line.Positional[0] == "vm" ? null : "'get' takes 'vm ID'",
            "apply" => count > 0 ? "'apply' takes no arguments, only -f FILE"
                : line.Has("--filename") ? null : "'apply' needs -f FILE (YAML or JSON; - for standard input)",
            "token" => (count, line.Positional.FirstOrDefault()) switch
            {
                (1, "create") => line.Has("--role") ? null : "'token create' needs --role viewer|operator|admin",
                (1, "list") or (2, "revoke") => null,
                _ => "'token' takes 'create --role ROLE [--name NAME] [--expires DURATION]', 'list' or 'revoke ID'",
            },
            "network" => (count, line.Positional.FirstOrDefault()) switch
            {
                (2, "create") => line.Has("--mode") ? null : "'network create NAME' needs --mode nat|bridge|overlay",
                (1, "list") or (2, "show") or (2, "delete") => null,
                _ => "'network' takes 'create NAME --mode nat|bridge|overlay [--subnet CIDR] [--bridge BR] [--mtu N]', 'list', 'show NAME' or 'delete NAME'",
            },
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
            case "show" or "get": return new GetVm(id);
            case "apply": return Apply.ApplyRunner.Read(line.Get("--filename")!, Console.In, out error);
            case "events": return new GetVmEvents(id);
            case "migrate": return line.Has("--cancel") ? new CancelMigration(id) : MigrateOptions.Parse(id, line, out error);
            case "migrations": return ListMigrations.Instance;
            case "drain": return new DrainHost(id);
            case "undrain": return new UndrainHost(id);
            case "top" or "watch": return null;
            case "token": return TokenRequest(line, out error);
            case "network": return NetworkRequest(line, out error);
            case "audit":
                if (!int.TryParse(line.Get("--limit") ?? "50", NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit < 1)
                    error = "bad --limit (a count of records, 1 or more)";
                return new ListAudit(limit);
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

    /// <summary>The token verb's request: create (expiry default <see cref="DefaultTokenExpiry"/>), list or revoke.</summary>
    private static object? TokenRequest(CommandLine line, out string? error)
    {
        error = null;
        switch (line.Positional[0])
        {
            case "list":
                return ListTokens.Instance;
            case "revoke":
                return new RevokeToken(line.Positional[1]);
        }
        Role? role = line.Get("--role") switch { "viewer" => Role.Viewer, "operator" => Role.Operator, "admin" => Role.Admin, _ => null };
        var expires = line.Get("--expires") ?? DefaultTokenExpiry;
        if (role is null)
            error = $"bad --role '{line.Get("--role")}' (viewer, operator or admin)";
        else if (!DurationText.TryParse(expires, out var duration))
            error = $"bad --expires '{expires}' (a duration: 90m, 12h, 30d)";
        else
            return new CreateToken(role.Value, line.Get("--name") ?? $"{line.Get("--role")}-token", DateTime.UtcNow + duration);
        return null;
    }

    /// <summary>The network verb's request: create, list, show or delete.</summary>
    private static object? NetworkRequest(CommandLine line, out string? error)
    {
        error = null;
        switch (line.Positional[0])
        {
            case "list":
                return ListNetworks.Instance;
            case "show":
                return new GetNetwork(line.Positional[1]);
            case "delete":
                return new DeleteNetwork(line.Positional[1]);
        }
        NetworkMode? mode = line.Get("--mode") switch
        {
            "nat" => NetworkMode.Nat, "bridge" => NetworkMode.Bridge, "overlay" => NetworkMode.Overlay, _ => null,
        };
        var mtu = 0;
        if (mode is null)
            error = $"bad --mode '{line.Get("--mode")}' (nat, bridge or overlay)";
        else if (line.Get("--mtu") is { } m && !int.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out mtu))
            error = $"bad --mtu '{m}'";
        else
            return new CreateNetwork(new NetworkSpec(line.Positional[1], mode.Value, line.Get("--subnet"), line.Get("--bridge"), mtu));
        return null;
    }

    /// <summary>How long a token lives when <c>--expires</c> is not given.</summary>
    public const string DefaultTokenExpiry = "30d";

    private static string Unescape(string text) =>
        text.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal)
            .Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);

    /// <summary>Says what is wrong with the command line and where its help is; the usage exit code.</summary>
    internal static int UsageError(TextWriter stderr, string? error, string path)
    {
        stderr.WriteLine($"vmctl: {error}");
        stderr.WriteLine($"(see 'vmctl {(path.Length == 0 ? "" : path + " ")}--help')");
        return ExitCodes.Usage;
    }
}

using System.CommandLine;
using System.CommandLine.Help;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>
/// vmctl's commands and options, defined once: the parser, <c>--help</c> (per command, with examples), <c>--version</c>
/// and shell completion all read this tree. Built once per process (a few hundred small objects, no reflection).
/// Unknown words are not parse errors here: vmctl reports them itself, naming the command ("'top' does not take --wait").
/// </summary>
public static class CommandTree
{
    private static readonly Lazy<RootCommand> Built = new(Build);

    /// <summary>The root command, with every verb below it.</summary>
    public static RootCommand Root => Built.Value;

    /// <summary>The action every vmctl command carries: a marker telling <see cref="VmctlApp"/> that a verb was parsed
    /// (help, <c>--version</c> and the completion directive carry their own).</summary>
    public static readonly System.CommandLine.Invocation.SynchronousCommandLineAction Verb = new VerbAction();

    private static RootCommand Build()
    {
        var root = new RootCommand("vmctl: drive a cluster of VMs (create, start, migrate, drain, ...) through one of its nodes.");
        foreach (var option in GlobalOptions.All)
            root.Options.Add(option);
        foreach (var verb in VmVerbs.All().Concat(ClusterVerbs.All()).Concat(AdminVerbs.All()).Concat(ClientVerbs.All()))
            root.Subcommands.Add(verb);
        foreach (var option in root.Options.OfType<HelpOption>())
            option.Action = new HelpWriter();
        root.Add(new VerbCommand("help", "help on vmctl or on one command (the same as COMMAND --help)")
            .With(new Argument<string[]>("COMMAND") { Description = "the command (and subcommand) to explain", Arity = ArgumentArity.ZeroOrMore })
            .Example("vmctl help migrate", "vmctl help token create"));
        Prepare(root);
        return root;
    }

    /// <summary>Every command gets the verb action and reports unknown words to vmctl instead of failing the parse.</summary>
    private static void Prepare(Command command)
    {
        command.TreatUnmatchedTokensAsErrors = false;
        command.Action = Verb;
        foreach (var sub in command.Subcommands)
            Prepare(sub);
    }

    /// <summary>The paragraphs <c>vmctl --help</c> ends with: where commands go, the token, the exit codes.</summary>
    public static readonly IReadOnlyList<string> RootNotes =
    [
        """
        Where vmctl sends its commands, first match wins: --server URL (the node's HTTPS API: no ActorSystem, the token
        alone), $VMCTL_SERVER, --node HOST:PORT or $VMCTL_NODE (Akka.Remote with a client certificate of the cluster CA;
        $VMCTL_TLS names the directory with ca.crt and vmctl.crt/vmctl.key, default data/tls), the server of the context
        (--context NAME, $VMCTL_CONTEXT or the current one of $VMCTL_CONFIG, default ~/.config/vmctl/config.yaml), else
        remoting to 127.0.0.1:4053.
        """,
        """
        The token: --token, $CLUSTER_TOKEN, $VMCTL_TOKEN, --token-file FILE, the context's token, else DIR/admin.token of
        --data DIR (a local node's bootstrap admin token), else ./data/admin.token. Roles: viewer reads; operator also
        runs VMs and consoles; admin also hosts, drain, the rebalancer, networks, tokens and the audit log.
        """,
        """
        Exit codes: 0 ok, 1 refused (not allowed, not found, invalid spec), 2 usage, 3 node unreachable,
        4 unexpected reply, 5 a followed migration or drain failed, 6 access denied (no valid token, or a role that may not).
        """,
    ];

    private sealed class VerbAction : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult) => ExitCodes.Ok;
    }
}

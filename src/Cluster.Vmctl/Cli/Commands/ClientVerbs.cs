using System.CommandLine;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>The commands that never reach a node: config (contexts), completion, and the hidden __complete that the
/// completion scripts call.</summary>
public static class ClientVerbs
{
    /// <summary>The name of the hidden command the completion scripts call with the words typed so far.</summary>
    public const string CompleteCommand = "__complete";

    public static IEnumerable<VerbCommand> All()
    {
        yield return new VerbCommand("config", "named contexts (server, CA file, token) in vmctl's config file, like kubeconfig")
            .With(
                new VerbCommand("set-context", "add or change a context")
                    .With(Opt.Positional("NAME", "the context's name"))
                    .Note("It stores --server (needed for a new context), --cacert, --token-file or --token (the token itself, " +
                          "kept in the file, which is written 0600); options not given keep their value in an existing context.")
                    .Example("vmctl config set-context prod --server https://10.0.0.1:4770 --cacert ca.pem --token-file ~/.prod.token"),
                new VerbCommand("use-context", "make a context the current one").With(Opt.Positional("NAME", "the context's name"))
                    .Example("vmctl config use-context prod"),
                new VerbCommand("get-contexts", "every context; * marks the current one").Example("vmctl config get-contexts"),
                new VerbCommand("current-context", "the current context's name").Example("vmctl config current-context"),
                new VerbCommand("delete-context", "remove a context").With(Opt.Positional("NAME", "the context's name"))
                    .Example("vmctl config delete-context old"))
            .Example("vmctl config get-contexts", "VMCTL_CONTEXT=prod vmctl list", "vmctl --context prod list")
            .Note("The file is $VMCTL_CONFIG, default ~/.config/vmctl/config.yaml. Explicit flags and $VMCTL_SERVER, " +
                  "$VMCTL_CACERT, $VMCTL_TOKEN win over the context.");
        yield return new VerbCommand("completion", "print a shell completion script")
            .With(Opt.Positional("SHELL", "bash or zsh", "bash", "zsh"))
            .Example("source <(vmctl completion bash)", "vmctl completion zsh > \"${fpath[1]}/_vmctl\"");
        var complete = new VerbCommand(CompleteCommand, "the completions of the words typed so far, one a line (for the scripts)")
            .With(new Argument<string[]>("WORDS") { Arity = ArgumentArity.ZeroOrMore });
        complete.Hidden = true;
        yield return complete;
    }
}

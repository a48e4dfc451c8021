using System.CommandLine;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>The options every vmctl command takes, before or after the verb.</summary>
public static class GlobalOptions
{
    public static readonly Option<string> Node = Opt.Global(Opt.Value("--node", "HOST:PORT",
        "the node's remoting address (an Akka.Remote client; default $VMCTL_NODE or 127.0.0.1:4053)"));

    public static readonly Option<string> Server = Opt.Global(Opt.Value("--server", "URL",
        "the node's HTTPS API instead, https://HOST:PORT (default $VMCTL_SERVER or the context's server)"));

    public static readonly Option<string> CaCert = Opt.Global(Opt.Value("--cacert", "FILE",
        "the API's certificate or its CA (PEM), trusted alone (default $VMCTL_CACERT, the context's, DATA/http-cert.pem)"));

    public static readonly Option<string> Context = Opt.Global(Opt.Value("--context", "NAME",
        "the context of the config file to use (default $VMCTL_CONTEXT, else the file's current context)"));

    public static readonly Option<string> Timeout = Opt.Global(Opt.Value("--timeout", "SECONDS", "how long to wait for the node (default 5)"));

    public static readonly Option<string> Token = Opt.Global(Opt.Value("--token", "TOKEN", "the bearer token sent with every command"));

    public static readonly Option<string> TokenFile = Opt.Global(Opt.Value("--token-file", "FILE", "a file holding the token"));

    public static readonly Option<string> Data = Opt.Global(Opt.Value("--data", "DIR",
        "a local node's data directory (its admin.token and http-cert.pem)"));

    public static readonly Option<string> Output = Opt.Global(Opt.Short("--output", "-o", "FORMAT",
        "table (default), wide (more columns), json or yaml", "table", "wide", "json", "yaml"));

    public static readonly Option<bool> Json = Opt.Global(Opt.Flag("--json", "the same as -o json"));

    public static readonly Option<bool> NoHeaders = Opt.Global(Opt.Flag("--no-headers", "tables without their header line"));

    /// <summary>All of them, in the order help lists them.</summary>
    public static readonly IReadOnlyList<Option> All = [Server, Node, CaCert, Context, Token, TokenFile, Data, Timeout, Output, Json, NoHeaders];
}

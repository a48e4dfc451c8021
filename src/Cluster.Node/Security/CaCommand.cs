using System.Globalization;
using System.Security.Cryptography;
using Cluster.Node.Cli;

namespace Cluster.Node.Security;

/// <summary><c>cluster-node ca init|issue|revoke|rotate|retire</c>: the cluster CA's command line.</summary>
public static class CaCommand
{
    /// <summary>The <c>ca</c> command and its subcommands.</summary>
    public static CliCommand Command()
    {
        var days = CliCommand.Value("--days", "N", "validity in days (1 to 36500)");
        CliCommand Sub(string verb, string description) => new(verb, description) { Handler = (args, io) => Run(verb, args, io) };
        return new CliCommand("ca", "the cluster CA: node and client certificates, revocation, rotation") { UsageExitCode = 2 }
            .With(
                Sub("init", "create the cluster CA in DIR: ca.crt, ca.key (mode 0600, keep it on the machine that issues) and the revocation list 'revoked' (default 3650 days)")
                    .With(CliCommand.Value("--dir", "DIR", "the CA directory to create"), days)
                    .Example("cluster-node ca init --dir /etc/cluster-hypervisor/ca"),
                Sub("issue", "issue NAME.crt and NAME.key (0600) for a node (its host name or address) or a client ('vmctl'); default 365 days; issuing again replaces the pair (rotation)")
                    .With(CliCommand.Operand("NAME", "the node's host name or address, or a client name"))
                    .With(CliCommand.Value("--ca", "DIR", "the CA directory"), CliCommand.Value("--out", "DIR", "where to write (default: the CA directory)"), days)
                    .Example("cluster-node ca issue 10.0.0.2 --ca /etc/cluster-hypervisor/ca --out /tmp/node2"),
                Sub("revoke", "append the certificate's serial to DIR/revoked; every node re-reads the list at each TLS handshake")
                    .With(CliCommand.Operand("CERT", "a certificate file (.crt) or a serial number"))
                    .With(CliCommand.Value("--ca", "DIR", "the CA directory"))
                    .Example("cluster-node ca revoke /tmp/node2/10.0.0.2.crt --ca /etc/cluster-hypervisor/ca"),
                Sub("rotate", "make a new CA the current one (ca.key, first in ca.crt) while the old roots stay trusted after it")
                    .With(CliCommand.Value("--ca", "DIR", "the CA directory"), days)
                    .Note("""
                        Then copy ca.crt to every node (each re-reads it at its next TLS handshake) and restart the nodes one at a time
                        (their guests keep running): each issues itself a certificate of the new CA, or issue them anew; then 'ca retire'.
                        """),
                Sub("retire", "once every node and client holds a certificate of the new CA: ca.crt keeps only the current root")
                    .With(CliCommand.Value("--ca", "DIR", "the CA directory")))
            .Note("A node trusts only the CAs of its --ca directory (ca.crt and revoked are all it needs there). Exit codes: 0 done, 1 failed, 2 bad arguments.");
    }

    /// <summary>Runs the command after "ca"; returns the exit code (0 done, 1 failed, 2 bad arguments).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => NodeCli.Run(["ca", .. args], CliIo.Of(stdout, stderr));

    private static int Run(string verb, CliArgs args, CliIo io)
    {
        var stdout = io.Out;
        var stderr = io.Error;
        var positional = args.Operands.Count > 0 ? args.Operands[0] : null;
        var options = new Dictionary<string, string>();
        foreach (var name in new[] { "--dir", "--ca", "--out", "--days" })
            if (args.Get(name) is { } value)
                options[name] = value;
        int Bad(string error) => NodeCli.UsageError(["ca", verb], io, error);
        var days = 0;
        if (options.TryGetValue("--days", out var daysText)
            && (!int.TryParse(daysText, NumberStyles.None, CultureInfo.InvariantCulture, out days) || days < 1 || days > 36500))
            return Bad($"bad --days '{daysText}' (1 to 36500)");
        var required = verb == "init" ? "--dir" : "--ca";
        if (!options.TryGetValue(required, out var directory))
            return Bad($"'ca {verb}' needs {required} DIR");
        try
        {
            switch (verb)
            {
                case "init":
                    var ca = CertificateAuthority.Init(directory, days > 0 ? days : CertificateAuthority.DefaultCaDays);
                    stdout.WriteLine($"created CA '{ca.Subject}' in {directory}, valid until {ca.NotAfter.ToUniversalTime():u}");
                    stdout.WriteLine($"keep {Path.Combine(directory, "ca.key")} secret; nodes need only ca.crt and revoked");
                    break;
                case "issue":
                    var issued = CertificateAuthority.Issue(directory, positional!, options.GetValueOrDefault("--out", directory),
                        days > 0 ? days : CertificateAuthority.DefaultDays);
                    stdout.WriteLine($"issued {positional}: {issued.CertificateFile} (key {Serialization.Tls.TlsFiles.KeyOf(issued.CertificateFile)}), " +
                                     $"serial {issued.Serial}, valid until {issued.NotAfter:u}");
                    break;
                case "rotate":
                    var rotated = CertificateAuthority.Rotate(directory, days > 0 ? days : CertificateAuthority.DefaultCaDays);
                    stdout.WriteLine($"the current CA is now '{rotated.Subject}' (valid until {rotated.NotAfter.ToUniversalTime():u}); the old roots stay trusted");
                    stdout.WriteLine("next: copy ca.crt to every node, restart the nodes one at a time (or issue them new certificates), then 'ca retire'");
                    break;
                case "retire":
                    var retired = CertificateAuthority.Retire(directory);
                    stdout.WriteLine(retired.Count == 0 ? "only the current CA was trusted: nothing retired" : $"no longer trusted: {string.Join("; ", retired)}");
                    break;
                default:
                    stdout.WriteLine($"revoked serial {CertificateAuthority.Revoke(directory, positional!)} in {Path.Combine(directory, "revoked")}");
                    break;
            }
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            stderr.WriteLine($"cluster-node ca {verb}: {e.Message}");
            return 1;
        }
    }
}

namespace Cluster.Node.Cli;

/// <summary>Where a command writes: its text output, its errors, and (for <c>vmm run</c>'s guest console) the raw
/// standard output stream.</summary>
public sealed record CliIo(TextWriter Out, TextWriter Error, Func<Stream> OpenOut)
{
    /// <summary>The process's own streams.</summary>
    public static CliIo Process => new(Console.Out, Console.Error, Console.OpenStandardOutput);

    /// <summary>Writers only (tests): the raw stream is the text output's, unbuffered.</summary>
    public static CliIo Of(TextWriter stdout, TextWriter stderr) => new(stdout, stderr, () => Stream.Null);
}

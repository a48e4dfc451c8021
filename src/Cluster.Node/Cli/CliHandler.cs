namespace Cluster.Node.Cli;

/// <summary>What a leaf command runs once its command line parsed: the values, where to write; the exit code back.</summary>
public delegate int CliHandler(CliArgs args, CliIo io);

using Cluster.Node.Cli;

return NodeCli.Run(args, CliIo.Process);

using Cluster.Vmctl.Cli;

return await VmctlApp.RunAsync(args, Console.Out, Console.Error);

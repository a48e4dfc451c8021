using Cluster.Node.DiskCommand;
using Cluster.Node.Hosting;
using Cluster.Node.VmmCommand;

return args switch
{
    ["vmm", "run", .. var rest] => VmmRunCommand.Run(rest, Console.OpenStandardOutput(), Console.Error),
    ["run", .. var rest] => NodeCommand.Run(rest),
    ["disk", .. var rest] => DiskCommands.Run(rest, Console.Out, Console.Error),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: cluster-node <command>");
    Console.Error.WriteLine("commands:");
    Console.Error.WriteLine("  run [options]                               host a node (see 'run --help')");
    Console.Error.WriteLine("  vmm run [options] guest.elf|builtin:NAME   run one guest on this host (see 'vmm run --help')");
    Console.Error.WriteLine("  disk create|info|convert|check ...         disk images, raw and qcow2 (see 'disk --help')");
    return 2;
}

using Cluster.Node.VmmCommand;

// vmm-worker vmm serve [options]: a VMM worker process for one VM, the same as cluster-node vmm serve (see its --help).
// The node's launcher appends "vmm serve ..." to whichever worker command it uses, so both programs take the same arguments.
if (args is ["vmm", "serve", .. var rest])
    return VmmServeCommand.Run(rest, Console.Error);
Console.Error.WriteLine("usage: vmm-worker vmm serve --runtime-dir DIR [--name NAME] [...] (see 'vmm-worker vmm serve --help')");
return 2;

using MigBench;

// migbench raw    [--mib N]                         loopback raw-socket throughput
// migbench stream --guest ELF [--fill 512]          page stream (bulk round into resident memory) beside the raw socket
// migbench target --port P                          receives one migration, runs it a moment, reports
// migbench source --port P --guest ELF [--memory-mib 1024 --fill 512 --ws 256 --rate R
//                 --downtime-ms 300 --connections 1 --xbzrle-mib 64]
// Each prints one line of key=value pairs on stdout (the run script parses them).
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: migbench raw|target|source [--options]");
    return 2;
}
var options = new Args(args.Skip(1));
return args[0] switch
{
    "raw" => RawSocket.Run(options),
    "stream" => StreamVsRaw.Run(options),
    "target" => TargetProcess.Run(options),
    "source" => SourceProcess.Run(options),
    _ => 2,
};

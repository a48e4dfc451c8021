using MessagePack;

namespace Cluster.Contracts.Commands;

/// <summary>Asks for the last <paramref name="MaxBytes"/> bytes of a VM's serial console.</summary>
[MessagePackObject]
public sealed record ConsoleTail([property: Key(0)] string VmId, [property: Key(1)] int MaxBytes) : IVmCommand;

/// <summary>
/// Subscribes the sender to a VM's serial console: the reply is a <see cref="Replies.ConsoleOutput"/>
/// with the recent backlog, then every new chunk arrives as a further <see cref="Replies.ConsoleOutput"/>
/// until <see cref="ConsoleDetach"/> or the subscriber terminates.
/// </summary>
[MessagePackObject]
public sealed record ConsoleAttach([property: Key(0)] string VmId) : IVmCommand;

/// <summary>Ends the sender's console subscription.</summary>
[MessagePackObject]
public sealed record ConsoleDetach([property: Key(0)] string VmId) : IVmCommand;

/// <summary>Bytes typed into the guest's serial port.</summary>
[MessagePackObject]
public sealed record ConsoleInput([property: Key(0)] string VmId, [property: Key(1)] byte[] Data) : IVmCommand;

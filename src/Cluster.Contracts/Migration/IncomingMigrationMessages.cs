using Cluster.Contracts.Vms;
using MessagePack;

namespace Cluster.Contracts.Migration;

/// <summary>
/// Source VM actor to the target host's migration receiver: get ready to receive <paramref name="Spec"/>'s
/// running machine. Answered with <see cref="IncomingReady"/> (a data socket listens) or
/// <see cref="IncomingRefused"/>. The receiver refuses any other <paramref name="ProtocolVersion"/>.
/// </summary>
/// <param name="ProtocolVersion">The actor-level migration protocol version (1).</param>
/// <param name="MigrationId">The attempt.</param>
/// <param name="Spec">The VM.</param>
/// <param name="SourceHost">The host it leaves ("host:port").</param>
/// <param name="ExpectedEpoch">The VM's ownership epoch now; the commit writes one more.</param>
[MessagePackObject]
public sealed record PrepareIncoming(
    [property: Key(0)] int ProtocolVersion,
    [property: Key(1)] string MigrationId,
    [property: Key(2)] VmSpec Spec,
    [property: Key(3)] string SourceHost,
    [property: Key(4)] long ExpectedEpoch) : IClusterMessage;

/// <summary>
/// The target listens for the page stream at <paramref name="Address"/>:<paramref name="Port"/>. The source proves itself with
/// <paramref name="Token"/> on every connection, and opens TLS only to a certificate whose SHA-256 is
/// <paramref name="CertificatePin"/> (both made by the target for this migration alone); no pin: the target offers a
/// plaintext stream (an operator's explicit choice, for benchmarks). Secrets: this message travels on the control plane only.
/// </summary>
/// <param name="MigrationId">The attempt.</param>
/// <param name="Address">The page stream's address.</param>
/// <param name="Port">The page stream's port.</param>
/// <param name="Token">The one-time token (32 bytes).</param>
/// <param name="CertificatePin">SHA-256 of the target's certificate (32 bytes), or null for plaintext.</param>
[MessagePackObject]
public sealed record IncomingReady(
    [property: Key(0)] string MigrationId, [property: Key(1)] string Address, [property: Key(2)] int Port,
    [property: Key(3)] byte[] Token, [property: Key(4)] byte[]? CertificatePin) : IClusterMessage
{
    /// <summary>Leaves the token out (records print every property).</summary>
    public override string ToString() =>
        $"IncomingReady {{ MigrationId = {MigrationId}, Address = {Address}, Port = {Port}, {(CertificatePin is null ? "plaintext" : "TLS")} }}";
}

/// <summary>The target will not take the VM; <paramref name="Reason"/> says why.</summary>
[MessagePackObject]
public sealed record IncomingRefused([property: Key(0)] string MigrationId, [property: Key(1)] string Reason) : IClusterMessage;

/// <summary>Source to target once the guest is paused for the last time: its console history, which seeds the target's console.</summary>
[MessagePackObject]
public sealed record IncomingConsole(
    [property: Key(0)] string MigrationId, [property: Key(1)] string VmId, [property: Key(2)] byte[] History) : IClusterMessage;

/// <summary>Source to target: the migration is abandoned before its commit; the target drops what it prepared.</summary>
[MessagePackObject]
public sealed record AbortIncoming([property: Key(0)] string MigrationId, [property: Key(1)] string Reason) : IClusterMessage;

/// <summary>
/// Published cluster-wide once a migration succeeded: the VM runs on <paramref name="To"/>, so its shard
/// (still on <paramref name="From"/>) is to be handed over there.
/// </summary>
[MessagePackObject]
public sealed record VmMoved(
    [property: Key(0)] string VmId, [property: Key(1)] string From, [property: Key(2)] string To,
    [property: Key(3)] string MigrationId) : IClusterMessage;

/// <summary>
/// To the scheduler: reserve room for <paramref name="Spec"/> on <paramref name="Target"/> for an incoming
/// migration. Answered with <see cref="Hosts.PlacementDecided"/> (recorded for the target, so no creation takes
/// the space) or <see cref="Replies.PlacementRefused"/>.
/// </summary>
[MessagePackObject]
public sealed record ReserveMigrationTarget([property: Key(0)] VmSpec Spec, [property: Key(1)] string Target) : IClusterMessage;

/// <summary>To the scheduler: a migration ended; <paramref name="Spec"/>'s placement is <paramref name="Host"/> (target on success, source on failure).</summary>
[MessagePackObject]
public sealed record EndMigrationReservation([property: Key(0)] VmSpec Spec, [property: Key(1)] string Host) : IClusterMessage;

namespace Cluster.Actors.Devices;

/// <summary>
/// How a VM's console output reaches its subscribers: coalesced into chunks of up to <see cref="ChunkBytes"/> (sent when
/// full or <see cref="FlushInterval"/> after the first byte), and rate-limited by a token bucket of
/// <see cref="BytesPerSecond"/> with a burst of <see cref="BurstBytes"/>; what the bucket refuses is dropped and counted.
/// </summary>
/// <param name="ChunkBytes">The largest chunk sent to subscribers.</param>
/// <param name="FlushInterval">The longest a byte waits for its chunk to fill.</param>
/// <param name="BytesPerSecond">The sustained output rate kept.</param>
/// <param name="BurstBytes">The output kept at once after a quiet spell.</param>
public sealed record ConsoleLimits(int ChunkBytes, TimeSpan FlushInterval, long BytesPerSecond, long BurstBytes)
{
    /// <summary>4 KiB chunks, 50 ms, 64 KiB/s with a 256 KiB burst (a Linux boot log passes whole).</summary>
    public static ConsoleLimits Default { get; } = new(4096, TimeSpan.FromMilliseconds(50), 64 * 1024, 256 * 1024);
}

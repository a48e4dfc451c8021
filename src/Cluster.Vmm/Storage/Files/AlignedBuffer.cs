using System.Runtime.InteropServices;

namespace Cluster.Vmm.Storage.Files;

/// <summary>Native memory at an alignment O_DIRECT accepts, freed on dispose.</summary>
internal sealed unsafe class AlignedBuffer : IDisposable
{
    private void* _memory;

    public AlignedBuffer(int length, int alignment)
    {
        Length = length;
        // SAFETY: a fresh allocation of length bytes (at least 1) owned by this object and freed once in Dispose.
        _memory = NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1), (nuint)alignment);
    }

    public int Length { get; }

    // SAFETY: the span covers exactly the allocation, which lives until Dispose; callers do not keep it past that.
    public Span<byte> Span => new(_memory, Length);

    public void Dispose()
    {
        if (_memory is null)
            return;
        // SAFETY: frees the allocation made in the constructor exactly once (the pointer is cleared).
        NativeMemory.AlignedFree(_memory);
        _memory = null;
    }
}

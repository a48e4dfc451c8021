using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Loaders;

/// <summary>Loads a flat binary: its bytes at one address, which is also the entry point.</summary>
public static class FlatLoader
{
    /// <summary>Loads the file at <paramref name="path"/> to <paramref name="loadAddress"/>.</summary>
    public static LoadedImage LoadFile(string path, ulong loadAddress, GuestMemory memory, ulong memoryBytes)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException e) { throw new VmmException($"cannot read guest image {path}: {e.Message}", "flat-load", inner: e); }
        catch (UnauthorizedAccessException e) { throw new VmmException($"cannot read guest image {path}: {e.Message}", "flat-load", inner: e); }
        return Load(bytes, loadAddress, memory, memoryBytes);
    }

    /// <summary>Copies <paramref name="image"/> to <paramref name="loadAddress"/> in guest memory of <paramref name="memoryBytes"/> bytes.</summary>
    public static LoadedImage Load(ReadOnlySpan<byte> image, ulong loadAddress, GuestMemory memory, ulong memoryBytes)
    {
        ulong length = (ulong)image.Length;
        if (length == 0)
            throw new VmmException("invalid flat image: the file is empty", "flat-load");
        if (length > memoryBytes || loadAddress > memoryBytes - length)
            throw new VmmException($"invalid flat image: 0x{loadAddress:x}+0x{length:x} lies outside guest memory of 0x{memoryBytes:x} bytes", "flat-load");
        if (loadAddress < GuestLayout.ImageBase)
            throw new VmmException($"invalid flat image: 0x{loadAddress:x}+0x{length:x} overlaps the VMM's reserved area below 0x{GuestLayout.ImageBase:x}", "flat-load");
        memory.Write(loadAddress, image);
        return new LoadedImage(loadAddress, loadAddress, loadAddress + length);
    }
}

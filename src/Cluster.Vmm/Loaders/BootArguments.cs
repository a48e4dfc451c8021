using System.Text;
using Cluster.Vmm.Memory;

namespace Cluster.Vmm.Loaders;

/// <summary>
/// The guest's arguments (the --arg values, in order; there is no program name in argv[0]) as a
/// C argv block at <see cref="GuestLayout.ArgsAddress"/>: argc pointers, a null pointer, then the
/// NUL-terminated UTF-8 strings. Entry passes argc in rdi and the argv address in rsi.
/// </summary>
public sealed record BootArguments(int Count, ulong ArgvAddress)
{
    /// <summary>Writes <paramref name="args"/> into guest memory.</summary>
    /// <exception cref="VmmException">the block does not fit in the reserved space.</exception>
    public static BootArguments Write(GuestMemory memory, IReadOnlyList<string> args)
    {
        ulong capacity = GuestLayout.ArgsEnd - GuestLayout.ArgsAddress;
        ulong pointers = (ulong)(args.Count + 1) * 8;
        var strings = args.Select(a => Encoding.UTF8.GetBytes(a + "\0")).ToArray();
        ulong total = pointers + (ulong)strings.Sum(s => (long)s.Length);
        if (total > capacity)
            throw new VmmException($"guest arguments need {total} bytes, more than the {capacity} reserved for them", "boot-args");
        var block = new byte[total];
        ulong at = pointers;
        for (int i = 0; i < strings.Length; i++)
        {
            BitConverter.TryWriteBytes(block.AsSpan(i * 8), GuestLayout.ArgsAddress + at);
            strings[i].CopyTo(block, (int)at);
            at += (ulong)strings[i].Length;
        }
        memory.Write(GuestLayout.ArgsAddress, block);
        return new BootArguments(args.Count, GuestLayout.ArgsAddress);
    }
}

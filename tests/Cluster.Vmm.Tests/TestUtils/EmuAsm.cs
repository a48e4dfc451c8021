using Iced.Intel;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>Assembles test code with Iced.</summary>
internal static class EmuAsm
{
    private sealed class ListWriter : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    public static byte[] Assemble(int bitness, ulong address, Action<Assembler> build)
    {
        var a = new Assembler(bitness);
        build(a);
        var w = new ListWriter();
        a.Assemble(w, address);
        return [.. w.Bytes];
    }

    /// <summary>Encodes single instructions (for tests generic over operand size).</summary>
    public static byte[] Encode(ulong address, params Instruction[] instructions)
    {
        var w = new ListWriter();
        var enc = Encoder.Create(64, w);
        ulong ip = address;
        foreach (var ins in instructions)
        {
            uint n = enc.Encode(ins, ip);
            ip += n;
        }
        return [.. w.Bytes];
    }

    /// <summary>The register of family <paramref name="full64"/> (RAX, RBX, ...) at <paramref name="size"/> bytes.</summary>
    public static Register Reg(Register full64, int size)
    {
        int i = full64 - Register.RAX;
        return size switch
        {
            8 => full64,
            4 => Register.EAX + i,
            2 => Register.AX + i,
            _ => i < 4 ? Register.AL + i : i < 8 ? Register.SPL + (i - 4) : Register.R8L + (i - 8),
        };
    }
}

using Iced.Intel;

namespace Cluster.Vmm.Emulated.Cpu;

/// <summary>Feeds Iced's decoder from host memory of a guest page.</summary>
internal sealed unsafe class PointerCodeReader : CodeReader
{
    private readonly byte* _p;
    private readonly int _length;
    private int _pos;

    /// <summary>Reads [p, p+length); the caller keeps that range mapped while decoding.</summary>
    public PointerCodeReader(byte* p, int length)
    {
        _p = p;
        _length = length;
    }

    public override int ReadByte()
    {
        if (_pos >= _length) return -1;
        // SAFETY: _pos < _length and the creator guarantees [p, p+length) is mapped guest memory.
        return _p[_pos++];
    }
}

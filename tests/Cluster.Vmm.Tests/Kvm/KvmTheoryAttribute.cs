using Xunit;

namespace Cluster.Vmm.Tests.Kvm;

/// <summary>A theory that needs a working /dev/kvm; skipped with the run-time reason otherwise (see <see cref="KvmFactAttribute"/>).</summary>
public sealed class KvmTheoryAttribute : TheoryAttribute
{
    public KvmTheoryAttribute()
    {
        Skip = new KvmFactAttribute().Skip;
    }
}

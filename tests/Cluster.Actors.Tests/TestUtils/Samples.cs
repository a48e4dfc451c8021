using System.Reflection;
using Cluster.Contracts.Events;
using Cluster.Contracts.Vms;

namespace Cluster.Actors.Tests.TestUtils;

/// <summary>Builds a populated instance of any contract type by reflection, so new contracts are covered.</summary>
public static class Samples
{
    public static object Of(Type type)
    {
        if (type == typeof(string)) return "sample-text";
        if (type == typeof(int)) return 7;
        if (type == typeof(long)) return 7L;
        if (type == typeof(ulong)) return 4UL << 20;
        if (type == typeof(bool)) return true;
        if (type == typeof(double)) return 1.5;
        if (type == typeof(DateTime)) return new DateTime(2026, 11, 29, 17, 0, 0, DateTimeKind.Utc);
        if (type == typeof(byte[])) return new byte[] { 1, 2, 3, 0, 255 };
        if (type.IsEnum) return Enum.GetValues(type).Cast<object>().Last();
        if (Nullable.GetUnderlyingType(type) is { } inner) return Of(inner);
        if (type == typeof(GuestImageSpec)) return new LinuxImage("/boot/vmlinuz", "/boot/initrd", "console=ttyS0");
        if (type == typeof(VmEvent)) return new VmRestarted("vm-1", (DateTime)Of(typeof(DateTime)), "policy", 2);
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var element = type.GetGenericArguments()[0];
            var array = Array.CreateInstance(element, 2);
            array.SetValue(Of(element), 0);
            array.SetValue(Of(element), 1);
            return array;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
            return new Dictionary<string, string> { ["zone"] = "a", ["tier"] = "gold" };
        if (type.GetProperty("Instance", BindingFlags.Public | BindingFlags.Static) is { } singleton)
            return singleton.GetValue(null)!;
        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        return ctor.Invoke([.. ctor.GetParameters().Select(p => Of(p.ParameterType))]);
    }
}

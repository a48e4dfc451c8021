using System.Globalization;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>Reads the console of the counter guest.</summary>
internal static class CounterLines
{
    /// <summary>The numbers of the complete "count N" lines (a line cut by Pause or Stop is left out).</summary>
    public static List<int> Parse(string console) =>
        console[..(console.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => int.Parse(line["count ".Length..], CultureInfo.InvariantCulture))
            .ToList();
}

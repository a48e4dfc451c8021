using System.Text.Json;
using System.Text.Json.Serialization;
using Cluster.Vmm.Worker;
using Xunit;

namespace Cluster.Vmm.Tests.Worker;

public class WorkerRecordTests
{
    private static readonly JsonSerializerOptions Serializer = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    [Theory]
    [InlineData(null)]
    [InlineData("vm-\"42\"")]
    public void The_hand_written_record_is_what_the_serializer_writes_and_reads_back(string? vmId)
    {
        var record = new WorkerRecord
        {
            Name = "w-1", Pid = 1234, Socket = "/run/w/w-1.sock", ProtocolVersion = 1,
            StartedAt = new DateTimeOffset(2026, 12, 6, 13, 50, 1, 123, TimeSpan.Zero), VmId = vmId, Epoch = 7, State = WorkerVmState.Running,
        };
        Assert.Equal(JsonSerializer.Serialize(record, Serializer), System.Text.Encoding.UTF8.GetString(record.ToUtf8()));
        var path = Path.Combine(Path.GetTempPath(), $"record-{Guid.NewGuid():N}.json");
        try
        {
            record.WriteTo(path);
            Assert.Equal(record, WorkerRecord.Read(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

using Cluster.Vmm.Migration;
using Xunit;

namespace Cluster.Vmm.Tests.Migration;

public class PageCodecTests
{
    [Fact]
    public void A_zero_page_is_a_marker_of_eight_bytes()
    {
        var record = new byte[PageCodec.MaxRecord];
        var (length, encoding) = PageCodec.Encode(0x5000, new byte[4096], default, record);
        Assert.Equal((8, PageEncoding.Zero), (length, encoding));
        int offset = 0;
        Assert.Equal((0x5000UL, PageEncoding.Zero), PageCodec.Decode(record, ref offset, out var data));
        Assert.True(data.IsEmpty);
        Assert.Equal(8, offset);
    }

    [Fact]
    public void A_changed_page_with_a_previous_copy_goes_as_a_delta_and_a_new_one_in_full()
    {
        var previous = new byte[4096];
        previous[0] = 1;
        var page = (byte[])previous.Clone();
        page[0] = 2;
        var record = new byte[PageCodec.MaxRecord];
        Assert.Equal(PageEncoding.Delta, PageCodec.Encode(0x1000, page, previous, record).Encoding);
        Assert.Equal((8 + PageCodec.PageSize, PageEncoding.Full), PageCodec.Encode(0x1000, page, default, record));
        int offset = 0;
        var (gpa, encoding) = PageCodec.Decode(record, ref offset, out var data);
        Assert.Equal((0x1000UL, PageEncoding.Full), (gpa, encoding));
        Assert.Equal(page, data.ToArray());
    }

    [Fact]
    public void Refuses_a_record_with_an_unknown_encoding()
    {
        var record = new byte[8];
        record[0] = 9;
        int offset = 0;
        Assert.Throws<VmmException>(() => PageCodec.Decode(record, ref offset, out _));
    }
}

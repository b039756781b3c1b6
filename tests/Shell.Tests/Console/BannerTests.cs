using Repl.Shell.Interactive;

namespace Repl.Shell.Tests.Interactive;

public class BannerTests
{
    [Fact]
    public void The_banner_says_how_to_begin_in_one_screen()
    {
        string banner = Banner.Text(null, "Intel");

        Assert.Contains("continue ", banner);
        Assert.Contains("break entry_SYSCALL_64 ", banner);
        Assert.Contains("help ", banner);
        Assert.True(banner.Split('\n').Length <= 24, banner);
        Assert.True(banner.Split('\n').All(line => line.Length <= 120), banner);
    }

    [Fact]
    public void Without_an_image_the_banner_says_the_machine_holds_the_entry_kernel()
    {
        Assert.Contains("holds the entry kernel", Banner.Text(null, "AMD"));
        Assert.Contains("(AMD profile)", Banner.Text(null, "AMD"));
        Assert.DoesNotContain("entry kernel", Banner.Text("kernel.elf", "Intel"));
        Assert.Contains("The machine holds kernel.elf.", Banner.Text("kernel.elf", "Intel"));
    }
}

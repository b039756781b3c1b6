/*
 * The floor for the GDB stub benchmark: a stub with no machine behind it. It replays a transcript of a session
 * with repl's stub (each packet gdb sent, and the packets the stub answered with), so gdb gets the very replies it
 * got there and does the same work, while each answer costs one read and one write of bytes framed in advance.
 * What gdb, the kernel's loopback and the context switches cost per packet is all that is left in its time.
 * The benchmark (GdbStubRoundTrip.cs) records the transcript and builds this file with gcc when gcc is there.
 *
 * Usage: nullstub PORT TRANSCRIPT. The transcript holds one line per packet, "c HEX" for gdb's, "s HEX" for the
 * stub's, HEX the payload as it was on the wire (only
 * run-length encoding undone, which neither side uses). A packet gdb sends that the transcript does not
 * have next ends the replay with a message and exit status 1, so that a replay that went off course is not timed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct entry {
    char *payload;  /* gdb's packet: the raw payload, to compare with what arrives */
    size_t length;
    char *replies;  /* the stub's packets that followed it, framed and concatenated: one write */
    size_t replies_length;
};

static struct entry *entries;
static size_t entry_count;

static int hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* A payload framed as $...#checksum; it was recorded as it crossed the wire, escapes and all. */
static void append_framed(struct entry *e, const unsigned char *payload, size_t length)
{
    e->replies = realloc(e->replies, e->replies_length + length + 5); /* sprintf adds a NUL */
    char *out = e->replies + e->replies_length;
    unsigned sum = 0;
    out[0] = '$';
    for (size_t i = 0; i < length; i++)
        sum += payload[i];
    memcpy(out + 1, payload, length);
    sprintf(out + 1 + length, "#%02x", sum & 0xff);
    e->replies_length += length + 4;
}

static void load(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        perror(path);
        exit(2);
    }
    char *line = NULL;
    size_t capacity = 0;
    ssize_t got;
    while ((got = getline(&line, &capacity, file)) > 0) {
        size_t hex = (size_t)got - 2;
        while (hex > 0 && (line[2 + hex - 1] == '\n' || line[2 + hex - 1] == '\r'))
            hex--;
        unsigned char *bytes = malloc(hex / 2 + 1);
        for (size_t i = 0; i < hex / 2; i++)
            bytes[i] = (unsigned char)(hex_digit(line[2 + 2 * i]) << 4 | hex_digit(line[3 + 2 * i]));
        if (line[0] == 'c') {
            entries = realloc(entries, (entry_count + 1) * sizeof *entries);
            entries[entry_count++] = (struct entry){ (char *)bytes, hex / 2, NULL, 0 };
        } else if (entry_count > 0) {
            append_framed(&entries[entry_count - 1], bytes, hex / 2);
            free(bytes);
        }
    }
    free(line);
    fclose(file);
}

static void send_all(int fd, const char *bytes, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, bytes, length);
        if (n <= 0)
            exit(0);
        bytes += n;
        length -= (size_t)n;
    }
}

/* The CPU time this stub used, as its last line of output: the benchmark sets it beside ours. */
static void report_cpu(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double seconds = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                     + (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    printf("stub-cpu %.6f\n", seconds);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: nullstub PORT TRANSCRIPT\n");
        return 2;
    }
    load(argv[2]);
    atexit(report_cpu);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0) {
        perror("nullstub: listen");
        return 2;
    }
    /* The benchmark waits for this line before it starts gdb. */
    printf("listening\n");
    fflush(stdout);
    int client = accept(listener, NULL, NULL);
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    /* Acknowledgements until the client's '+' to the reply to QStartNoAckMode; the client's own are ignored. */
    int acknowledge = 1;
    size_t next = 0;
    static char buffer[1 << 16], packet[1 << 16];
    size_t packet_length = 0;
    enum { IDLE, PAYLOAD, CHECKSUM1, CHECKSUM2 } state = IDLE;
    for (;;) {
        ssize_t n = read(client, buffer, sizeof buffer);
        if (n <= 0)
            return 0;
        for (ssize_t i = 0; i < n; i++) {
            char c = buffer[i];
            switch (state) {
            case IDLE:
                if (c == '$') {
                    state = PAYLOAD;
                    packet_length = 0;
                }
                break;
            case PAYLOAD:
                if (c == '#')
                    state = CHECKSUM1;
                else if (packet_length < sizeof packet)
                    packet[packet_length++] = c;
                break;
            case CHECKSUM1:
                state = CHECKSUM2;
                break;
            case CHECKSUM2: {
                state = IDLE;
                if (next >= entry_count || entries[next].length != packet_length
                    || memcmp(entries[next].payload, packet, packet_length) != 0) {
                    fprintf(stderr, "nullstub: packet %zu is %.*s, not the transcript's\n", next, (int)packet_length, packet);
                    return 1;
                }
                if (acknowledge)
                    send_all(client, "+", 1);
                const struct entry *e = &entries[next++];
                send_all(client, e->replies, e->replies_length);
                if (packet_length == 15 && memcmp(packet, "QStartNoAckMode", 15) == 0)
                    acknowledge = 0;
                break;
            }
            }
        }
    }
}

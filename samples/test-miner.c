/*
 * test-miner: a harmless test program for the ScaleMalNet sandbox.
 * Imitates a cryptominer (the FHIDS cryptomining scenario): one hashing
 * thread per online CPU runs a SHA-256 loop over a nonce for about 3
 * seconds, while the main thread tries every ~200 ms to reach a mining
 * "pool" at 127.0.0.1:3333 (nothing listens: refused, retried). Then it
 * stops and exits. Only the loopback address is used.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RUN_SECONDS 3.0
#define POOL_PORT 3333
#define MAX_THREADS 64

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* One SHA-256 compression of a 16-word block. */
static void sha256_block(uint32_t h[8], const uint32_t blk[16])
{
	uint32_t w[64];
	memcpy(w, blk, 64);
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct worker {
	pthread_t tid;
	int id;
	double deadline;
	unsigned long hashes;
	uint32_t best; /* smallest first hash word seen: a "share" */
};

static void *mine(void *arg)
{
	struct worker *wk = arg;
	uint32_t blk[16] = {0};
	blk[0] = 0x534d4e00u | (uint32_t)wk->id; /* "SMN" + worker id */
	blk[15] = 0x80; /* padding-like constant */
	wk->best = UINT32_MAX;
	for (uint32_t nonce = 0;; nonce++) {
		uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
		blk[1] = nonce;
		sha256_block(h, blk);
		if (h[0] < wk->best)
			wk->best = h[0];
		wk->hashes++;
		if ((nonce & 0xfff) == 0 && now() >= wk->deadline)
			break;
	}
	return NULL;
}

int main(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > MAX_THREADS)
		ncpu = MAX_THREADS;
	double deadline = now() + RUN_SECONDS;

	static struct worker w[MAX_THREADS];
	for (long i = 0; i < ncpu; i++) {
		w[i].id = (int)i;
		w[i].deadline = deadline;
		if (pthread_create(&w[i].tid, NULL, mine, &w[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}

	struct sockaddr_in pool;
	memset(&pool, 0, sizeof pool);
	pool.sin_family = AF_INET;
	pool.sin_port = htons(POOL_PORT);
	pool.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
	int attempts = 0, connected = 0;
	while (now() < deadline) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s >= 0) {
			attempts++;
			if (connect(s, (struct sockaddr *)&pool, sizeof pool) == 0)
				connected++;
			close(s);
		}
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}

	unsigned long total = 0;
	uint32_t best = UINT32_MAX;
	for (long i = 0; i < ncpu; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].hashes;
		if (w[i].best < best)
			best = w[i].best;
	}
	printf("test-miner: %ld threads, %lu hashes, best share %08x, pool 127.0.0.1:%d: %d attempts, %d connected\n",
	       ncpu, total, best, POOL_PORT, attempts, connected);
	return 0;
}

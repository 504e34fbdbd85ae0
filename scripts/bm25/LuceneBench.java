// The Lucene side of `npm run bench:bm25 -- --docs N` (bench/bm25/lucene-runner.ts compiles and runs it).
// Lucene 8 as Anserini runs it: EnglishAnalyzer (standard tokenizer, possessive, lowercase, 33 stop words,
// Porter), BM25Similarity(0.9, 0.4), title + text in one "contents" field stored with term vectors (no
// positions), the id stored; one indexing thread with a serial merge scheduler; queries are Anserini's bag
// of words (one SHOULD clause per distinct term boosted by its count), top-k by score then docid (the
// bench's ids are in docid order), the stored id read for every hit; one query thread.
//   java -cp <lucene jars>:<classes> LuceneBench index corpus.jsonl indexDir
//   java -cp <lucene jars>:<classes> LuceneBench search indexDir queries.tsv passes run100.tsv
// Each prints one JSON line of figures.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.search.*;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;

public class LuceneBench {
  public static void main(String[] args) throws Exception {
    if (args[0].equals("index")) index(Paths.get(args[1]), Paths.get(args[2]));
    else search(Paths.get(args[1]), Paths.get(args[2]), Integer.parseInt(args[3]), Paths.get(args[4]));
  }

  static void index(Path corpus, Path indexDir) throws Exception {
    long t0 = System.nanoTime();
    Analyzer analyzer = new EnglishAnalyzer();
    IndexWriterConfig cfg = new IndexWriterConfig(analyzer)
        .setSimilarity(new BM25Similarity(0.9f, 0.4f))
        .setOpenMode(IndexWriterConfig.OpenMode.CREATE)
        .setRAMBufferSizeMB(256)
        .setMergeScheduler(new SerialMergeScheduler());
    FieldType contents = new FieldType();
    contents.setIndexOptions(IndexOptions.DOCS_AND_FREQS);
    contents.setTokenized(true);
    contents.setStored(true);
    contents.setStoreTermVectors(true);
    contents.freeze();
    long docs = 0;
    try (IndexWriter w = new IndexWriter(FSDirectory.open(indexDir), cfg);
        BufferedReader in = Files.newBufferedReader(corpus, StandardCharsets.UTF_8)) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isEmpty()) continue;
        Map<String, String> doc = parseFlatJson(line);
        String title = doc.getOrDefault("title", ""), text = doc.getOrDefault("text", "");
        String flat = title.isEmpty() ? text : title + " " + text;
        if (flat.trim().isEmpty()) continue; // Anserini skips blank documents
        Document d = new Document();
        d.add(new StringField("id", doc.get("_id"), Field.Store.YES));
        d.add(new Field("contents", flat, contents));
        w.addDocument(d);
        docs++;
      }
      w.commit();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.println("{\"docs\":" + docs + ",\"indexSeconds\":" + seconds + "}");
  }

  static void search(Path indexDir, Path queriesFile, int passes, Path runOut) throws Exception {
    Analyzer analyzer = new EnglishAnalyzer();
    List<String> qids = new ArrayList<>();
    List<Query> queries = new ArrayList<>();
    for (String line : Files.readAllLines(queriesFile, StandardCharsets.UTF_8)) {
      int tab = line.indexOf('\t');
      if (tab < 0) continue;
      LinkedHashMap<String, Integer> counts = new LinkedHashMap<>();
      try (TokenStream ts = analyzer.tokenStream("contents", line.substring(tab + 1))) {
        CharTermAttribute t = ts.addAttribute(CharTermAttribute.class);
        ts.reset();
        while (ts.incrementToken()) counts.merge(t.toString(), 1, Integer::sum);
        ts.end();
      }
      BooleanQuery.Builder b = new BooleanQuery.Builder();
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        b.add(new BoostQuery(new TermQuery(new Term("contents", e.getKey())), (float) e.getValue()), BooleanClause.Occur.SHOULD);
      }
      qids.add(line.substring(0, tab));
      queries.add(b.build());
    }
    long t0 = System.nanoTime();
    DirectoryReader reader = DirectoryReader.open(FSDirectory.open(indexDir));
    IndexSearcher searcher = new IndexSearcher(reader);
    searcher.setSimilarity(new BM25Similarity(0.9f, 0.4f));
    double openSeconds = (System.nanoTime() - t0) / 1e9;
    Set<String> idField = Collections.singleton("id");
    StringBuilder json = new StringBuilder("{\"openSeconds\":" + openSeconds + ",\"segments\":" + reader.leaves().size());
    long sink = 0;
    for (int k : new int[] {1000, 100}) {
      for (Query q : queries) sink += runQuery(searcher, q, k, idField, null); // warm-up pass: warm cache and JIT
      double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE;
      for (int p = 0; p < passes; p++) {
        long s0 = System.nanoTime(), c0 = processCpuNanos();
        for (Query q : queries) sink += runQuery(searcher, q, k, idField, null);
        best = Math.min(best, (System.nanoTime() - s0) / 1e9);
        bestCpu = Math.min(bestCpu, (processCpuNanos() - c0) / 1e9);
      }
      json.append(",\"qps").append(k).append("\":").append(queries.size() / best);
      json.append(",\"cpuQps").append(k).append("\":").append(queries.size() / bestCpu);
    }
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(runOut, StandardCharsets.UTF_8))) {
      for (int i = 0; i < queries.size(); i++) {
        TopDocs top = searcher.search(queries.get(i), 100);
        for (ScoreDoc sd : top.scoreDocs) out.println(qids.get(i) + "\t" + searcher.doc(sd.doc, idField).get("id") + "\t" + sd.score);
      }
    }
    json.append(",\"rssMb\":").append(rssMb()).append(",\"sink\":").append(sink % 7).append("}");
    System.out.println(json);
  }

  static int runQuery(IndexSearcher searcher, Query q, int k, Set<String> idField, PrintWriter out) throws IOException {
    TopDocs top = searcher.search(q, k);
    int n = 0;
    for (ScoreDoc sd : top.scoreDocs) n += searcher.doc(sd.doc, idField).get("id").length();
    return n;
  }

  /** CPU time of the whole JVM (query thread, GC, JIT), as the Node side counts its process. */
  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  static long rssMb() throws IOException {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
    }
    return -1;
  }

  /** A JSON object of string fields (what the bench's generator writes); other values are skipped. */
  static Map<String, String> parseFlatJson(String s) {
    Map<String, String> out = new HashMap<>();
    int[] pos = {s.indexOf('{') + 1};
    while (true) {
      skipWs(s, pos);
      if (pos[0] >= s.length() || s.charAt(pos[0]) == '}') break;
      String key = readString(s, pos);
      skipWs(s, pos);
      pos[0]++; // ':'
      skipWs(s, pos);
      if (s.charAt(pos[0]) == '"') out.put(key, readString(s, pos));
      else while (pos[0] < s.length() && s.charAt(pos[0]) != ',' && s.charAt(pos[0]) != '}') pos[0]++;
      skipWs(s, pos);
      if (pos[0] < s.length() && s.charAt(pos[0]) == ',') pos[0]++;
    }
    return out;
  }

  static void skipWs(String s, int[] pos) {
    while (pos[0] < s.length() && Character.isWhitespace(s.charAt(pos[0]))) pos[0]++;
  }

  static String readString(String s, int[] pos) {
    StringBuilder sb = new StringBuilder();
    int i = pos[0] + 1;
    for (;;) {
      char c = s.charAt(i++);
      if (c == '"') break;
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      char e = s.charAt(i++);
      switch (e) {
        case 'n': sb.append('\n'); break;
        case 't': sb.append('\t'); break;
        case 'r': sb.append('\r'); break;
        case 'b': sb.append('\b'); break;
        case 'f': sb.append('\f'); break;
        case 'u': sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
        default: sb.append(e);
      }
    }
    pos[0] = i;
    return sb.toString();
  }
}

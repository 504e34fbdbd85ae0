import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/cross-encoder.md");

import { render } from 'preact';

function App() {
  return <main><h1>callqa</h1></main>;
}

render(<App />, document.getElementById('app'));
